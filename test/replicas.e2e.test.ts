// `workload.replicas` through the built CLI, as users run it: the bundle forks its worker entry
// (dist/bundle/worker.js) and the journal holds every request a counting server answered.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Journal } from '../src/engine/journal.js';
import { runCli } from './support/cli.js';

describe('a workload from worker processes, through the CLI', () => {
  it('drives the traffic from 2 bundled workers and records every request the server answered', async () => {
    let served = 0;
    const server = createServer((_req, res) => {
      served += 1;
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as AddressInfo).port;
      const dir = await mkdtemp(join(tmpdir(), 'faultline-replicas-'));
      await writeFile(
        join(dir, 'replicas.yaml'),
        `version: 1
title: two workers
method:
  - probe: tcp.connect
    with: { host: 127.0.0.1, port: ${port} }
    pauses: { after: 500ms }
workload:
  url: http://127.0.0.1:${port}/
  rate: 40
  replicas: 2
  before: 500ms
  after: 500ms
`,
      );
      const result = await runCli(['run', 'replicas.yaml', '--ledger-dir', 'ledger', '--no-guardian', '--journal', 'journal.json'], { cwd: dir });
      expect(result.stdout).toMatch(/workload: 40 req\/s from 2 worker processes/);
      expect(result.code).toBe(0);
      const journal = JSON.parse(await readFile(join(dir, 'journal.json'), 'utf8')) as Journal;
      const total = journal.windows.find((w) => w.kind === 'total')!;
      expect(total.requests).toBe(served);
      expect(journal.workload!.workers!.map((w) => [w.rate, w.lost])).toEqual([
        [20, undefined],
        [20, undefined],
      ]);
    } finally {
      server.close();
    }
  });
});
