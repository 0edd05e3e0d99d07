// Evidence of reach from a process's sockets: the /proc parser, the judge, and a real node server
// whose callers are seen connected, then waiting in its accept queue while it is stopped.
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/support/cli.js';
import { freePort } from '../../../test/support/ports.js';
import { judgeProcessReach, parseTcpTable, processKillEffect, readProcessSockets, socketCounters } from './reach.js';

const TABLE = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000002 00:00000000 00000000     0        0 111 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 112 1 0000000000000000 20 4 30 10 -1
   2: 0100007F:C351 0100007F:0CEA 01 00000000:00000000 00:00000000 00000000     0        0 113 1 0000000000000000 20 4 30 10 -1
   3: 0100007F:1F91 0100007F:C352 01 00000000:00000000 00:00000000 00000000     0        0 999 1 0000000000000000 20 4 30 10 -1
`;

describe('socket counters', () => {
  it('counts listening sockets, callers connected to them, and the accept queue; not outbound connections or other processes', () => {
    const rows = parseTcpTable(TABLE);
    expect(rows[0]).toEqual({ localPort: 8080, state: '0A', rxQueue: 2, inode: '111' });
    expect(socketCounters(new Set(['111', '112', '113']), rows)).toEqual({ listening: 1, inbound: 1, waiting: 2 });
  });
});

describe('judgeProcessReach', () => {
  const read = (inbound: number, waiting = 0, listening = 1) => ({ counters: { pid: 42, listening, inbound, waiting } });

  it('callers connected around the fault: reached', () => {
    expect(judgeProcessReach('kill', { baseline: read(0), applied: read(3) })).toMatchObject({ reached: true, summary: 'pid 42 held up to 3 connection(s) from callers on its listening ports around the kill' });
  });

  it('callers waiting to be accepted while it was stopped: reached', () => {
    expect(judgeProcessReach('stop', { applied: read(0), undone: read(0, 4) })).toMatchObject({ reached: true, summary: expect.stringMatching(/^4 connection\(s\) from callers waited in the accept queue of pid 42/) });
  });

  it('no caller seen: cannot tell, never "not reached" (Linux keeps no count of connections served)', () => {
    expect(judgeProcessReach('kill', { baseline: read(0), applied: read(0) }).reached).toBeNull();
    expect(judgeProcessReach('kill', { applied: read(0, 0, 0) }).summary).toMatch(/no listening TCP socket/);
    expect(judgeProcessReach('kill', { applied: { counters: {}, unavailable: 'pid 42 is gone' } }).reached).toBeNull();
  });

  it('effects: an ending signal refuses, any other does nothing to a request', () => {
    expect(processKillEffect('SIGKILL')).toEqual({ outage: 'refused' });
    expect(processKillEffect('SIGUSR1')).toEqual({});
  });
});

const sockets: Socket[] = [];
let child: ReturnType<typeof spawn> | undefined;
afterAll(() => {
  for (const socket of sockets) socket.destroy();
  child?.kill('SIGKILL');
});

function connectTo(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
    sockets.push(socket);
  });
}

describe('readProcessSockets on a real process', () => {
  it('sees a caller connected, then callers waiting while the process is stopped', async () => {
    const port = await freePort();
    child = spawn(process.execPath, ['-e', `require('node:net').createServer(() => {}).listen(${port}, '127.0.0.1')`], { stdio: 'ignore' });
    const pid = child.pid!;
    await waitFor('the server to listen', async () => ((await readProcessSockets(pid)).counters.listening ?? 0) > 0, 10_000);
    const baseline = await readProcessSockets(pid);
    expect(baseline.counters).toMatchObject({ pid, listening: 1, inbound: 0 });
    await connectTo(port);
    await waitFor('the caller to be accepted', async () => ((await readProcessSockets(pid)).counters.inbound ?? 0) === 1, 10_000);
    const applied = await readProcessSockets(pid);
    process.kill(pid, 'SIGSTOP');
    try {
      await connectTo(port);
      await connectTo(port);
      const undone = await readProcessSockets(pid);
      expect(undone.counters.waiting).toBe(2);
      expect(judgeProcessReach('stop', { baseline, applied, undone })).toMatchObject({ reached: true });
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    child.kill('SIGKILL');
    await waitFor('the process to go', async () => (await readProcessSockets(pid)).unavailable !== undefined, 10_000);
    expect((await readProcessSockets(pid)).unavailable).toMatch(/is gone|cannot read/);
  }, 30_000);
});
