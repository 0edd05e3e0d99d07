import { spawn } from 'node:child_process';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkExpectations } from '../../engine/tolerance.js';
import type { DriverContext } from '../types.js';
import { tcpDriver } from './index.js';
import { testDriverContext } from '../../../test/support/driver-context.js';

function testContext(signal = new AbortController().signal): DriverContext {
  return testDriverContext({ env: {}, signal });
}

const probe = tcpDriver.probes.connect;
const run = (args: Record<string, unknown>, ctx = testContext()) => probe.run(probe.args.parse(args), ctx);

let server: Server;
let port: number;
const accepted: Socket[] = [];

beforeAll(async () => {
  server = createServer((socket) => accepted.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  for (const socket of accepted) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
});

async function closedPort(): Promise<number> {
  const spare = createServer();
  await new Promise<void>((resolve) => spare.listen(0, '127.0.0.1', resolve));
  const { port: free } = spare.address() as AddressInfo;
  await new Promise((resolve) => spare.close(resolve));
  return free;
}

describe('tcp.connect', () => {
  it('connects to a listening port, closes again, and meets the default tolerance', async () => {
    const output = await run({ port });
    expect(output.connected).toBe(true);
    expect(output.error).toBeUndefined();
    expect(checkExpectations(output, probe.defaultExpect as never)).toEqual([]);
    // The probe's connection is closed by the time it returns, seen from the server.
    const last = accepted.at(-1)!;
    await new Promise((resolve) => (last.destroyed || last.readableEnded ? resolve(null) : last.once('close', resolve)));
  });

  it('reports a closed port as not connected, with the reason', async () => {
    const output = await run({ host: '127.0.0.1', port: await closedPort() });
    expect(output).toMatchObject({ connected: false });
    expect(output.error).toContain('ECONNREFUSED');
    expect(checkExpectations(output, probe.defaultExpect as never).map((m) => m.message)).toEqual([
      'connected: expected true, got false',
    ]);
  });

  it('gives up after the timeout when the listener never answers', async () => {
    // A listener whose process is frozen with a full accept queue: further SYNs are dropped, so connect hangs.
    const frozen = spawn(
      process.execPath,
      [
        '-e',
        `require('net').createServer().listen({ port: 0, host: '127.0.0.1', backlog: 1 }, function () {
           console.log(this.address().port);
           setTimeout(() => { const end = Date.now() + 15000; while (Date.now() < end) {} }, 20);
         });`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const fillers: Socket[] = [];
    try {
      const frozenPort = await new Promise<number>((resolve) => frozen.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString()))));
      await new Promise((resolve) => setTimeout(resolve, 100));
      for (let i = 0; i < 8; i++) {
        const filler = connect({ host: '127.0.0.1', port: frozenPort });
        filler.on('error', () => {});
        fillers.push(filler);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
      const started = Date.now();
      const output = await run({ port: frozenPort, timeout: '300ms' });
      expect(Date.now() - started).toBeLessThan(20_000); // not the kernel's connect timeout
      expect(output).toMatchObject({ connected: false, error: 'timeout after 300ms' });
    } finally {
      for (const filler of fillers) filler.destroy();
      frozen.kill('SIGKILL');
    }
  });

  it('throws the abort reason when the run stops', async () => {
    const controller = new AbortController();
    controller.abort(new Error('run stopped'));
    await expect(run({ port }, testContext(controller.signal))).rejects.toThrow('run stopped');
  });

  it('validates the port', () => {
    expect(probe.args.safeParse({ port: 70000 }).success).toBe(false);
    expect(probe.args.safeParse({}).success).toBe(false);
  });
});
