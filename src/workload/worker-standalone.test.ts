// The worker entry run on its own, as an indexed Job's pods would run it: two processes from one
// spec file (one told its index by flag, one by JOB_COMPLETION_INDEX), a counting server, and the
// two result files merged into the windows and series one run writes.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mergeWorkerResults } from './merge.js';
import type { StandaloneResult, StandaloneSpec } from './worker-standalone.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENTRY = fileURLToPath(new URL('./worker.ts', import.meta.url));
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'faultline-standalone-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function worker(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stderr };
}

describe('a workload worker on its own (--spec)', () => {
  it('two workers from one spec write results that merge into every request the server answered', async () => {
    let served = 0;
    const server = createServer((_req, res) => {
      served += 1;
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const spec: StandaloneSpec = {
        workload: { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, method: 'GET', headers: {}, body: undefined, timeoutMs: 2000, rate: 40, maxInFlight: 100, success: undefined },
        replicas: 2,
        // Late enough for both to have loaded; one that starts late sends what was due at once.
        startAt: new Date(Date.now() + 2500).toISOString(),
        durationMs: 1500,
        windows: [{ key: 'f', name: 'planned', atMs: 500, endMs: 1000 }],
      };
      await writeFile(join(dir, 'spec.json'), JSON.stringify(spec));
      const [a, b] = await Promise.all([
        worker(['--spec', join(dir, 'spec.json'), '--out', join(dir, 'r0.json'), '--index', '0']),
        worker(['--spec', join(dir, 'spec.json'), '--out', join(dir, 'r1.json')], { JOB_COMPLETION_INDEX: '1' }),
      ]);
      expect([a.code, b.code, a.stderr + b.stderr]).toEqual([0, 0, '']);
      const results = await Promise.all(['r0.json', 'r1.json'].map(async (f) => JSON.parse(await readFile(join(dir, f), 'utf8')) as StandaloneResult));
      expect(results.map((r) => [r.index, r.share.rate, r.interrupted])).toEqual([
        [0, 20, false],
        [1, 20, false],
      ]);
      const merged = mergeWorkerResults(results.map((r) => r.result), 0);
      const total = merged.windows.find((w) => w.kind === 'total')!;
      expect(total.requests).toBe(served);
      expect(total.requests).toBeGreaterThanOrEqual(60);
      expect(merged.windows.map((w) => [w.kind, w.startMs])).toEqual([
        ['baseline', 0],
        ['fault', 500],
        ['recovery', 1000],
        ['total', 0],
      ]);
      expect(merged.seconds.reduce((sum, s) => sum + s.requests, 0)).toBe(total.requests);
    } finally {
      server.close();
    }
  });

  it('refuses to start without an index, an output file or a readable spec (exit 2)', async () => {
    expect(await worker(['--spec', join(dir, 'missing.json'), '--out', join(dir, 'r.json'), '--index', '0'])).toMatchObject({ code: 2, stderr: expect.stringMatching(/cannot read/) });
    expect(await worker(['--spec', join(dir, 'spec.json')])).toMatchObject({ code: 2, stderr: expect.stringMatching(/--spec, --out and an index are required/) });
  });
});
