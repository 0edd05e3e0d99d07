// Abort conditions on outside monitors through the CLI: an HTTP monitor polled for the whole method
// (no fault is live here at all), its JSON checked at a path, and a monitor that cannot be reached
// treated per onError: abort (the default) trips the run with exit 3, ignore lets it finish.
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Journal } from '../src/engine/journal.js';
import { runCli } from './support/cli.js';
import { freePort } from './support/ports.js';

let dir = '';
let server: Server;
let port = 0;
let health = 'ok';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'faultline-monitors-'));
  server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: health })));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

async function runWith(name: string, url: string, extra: string[]): Promise<{ code: number | null; journal: Journal }> {
  const yaml = [
    'version: 1',
    'title: an HTTP monitor watches the whole method',
    'abort:',
    '  - name: health says ok',
    '    probe: http',
    `    with: { url: "${url}", timeout: 1s }`,
    '    expect: { status: 200, json: { path: $.status, equals: ok } }',
    '    while: method',
    '    every: 200ms',
    '    failures: 2',
    ...extra.map((line) => `    ${line}`),
    'method:',
    '  - name: wait 2s',
    '    action: command',
    '    with: { run: [node, -e, "setTimeout(() => {}, 2000)"] }',
  ];
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, yaml.join('\n'));
  const journalPath = join(dir, `${name}.json`);
  const result = await runCli(['run', file, '--journal', journalPath, '--ledger-dir', join(dir, 'ledger')]);
  return { code: result.code, journal: JSON.parse(await readFile(journalPath, 'utf8')) as Journal };
}

describe('abort conditions on outside monitors', () => {
  it('passes while the monitor says ok, polling with no fault live', async () => {
    health = 'ok';
    const { code, journal } = await runWith('healthy', `http://127.0.0.1:${port}/health`, []);
    expect(journal.status, journal.reason).toBe('passed');
    expect(code).toBe(0);
  }, 30_000);

  it('trips on a JSON path that no longer holds, and exits 3', async () => {
    health = 'degraded';
    const { code, journal } = await runWith('degraded', `http://127.0.0.1:${port}/health`, []);
    expect(code).toBe(3);
    expect(journal.reason).toContain('health says ok');
    expect(journal.abort?.misses[0]?.message).toContain('json $.status: expected "ok", got "degraded"');
    health = 'ok';
  }, 30_000);

  it('aborts when the monitor cannot be reached (onError: abort, the default)', async () => {
    const closed = await freePort();
    const { code, journal } = await runWith('unreachable', `http://127.0.0.1:${closed}/health`, []);
    expect(code).toBe(3);
    expect(journal.abort?.misses[0]?.message).toContain('cannot be read: connect ECONNREFUSED');
  }, 30_000);

  it('finishes when the monitor cannot be reached and onError is ignore', async () => {
    const closed = await freePort();
    const { code, journal } = await runWith('ignored', `http://127.0.0.1:${closed}/health`, ['onError: ignore']);
    expect(journal.status, journal.reason).toBe('passed');
    expect(code).toBe(0);
  }, 30_000);
});
