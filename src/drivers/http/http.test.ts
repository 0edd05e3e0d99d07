import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkExpectations } from '../../engine/tolerance.js';
import type { DriverContext } from '../types.js';
import { httpDriver, MAX_BODY_BYTES } from './index.js';
import { testDriverContext } from '../../../test/support/driver-context.js';

function testContext(signal = new AbortController().signal): DriverContext {
  return testDriverContext({ env: {}, signal });
}

const probe = httpDriver.probes.request;
const run = (args: Record<string, unknown>, ctx = testContext()) => probe.run(probe.args.parse(args), ctx);

let server: Server;
let base: string;
let connections = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/health') {
      res.writeHead(200, { 'content-type': 'application/json', 'x-instance': 'a' });
      res.end(JSON.stringify({ status: 'ok', items: [1, 2] }));
    } else if (url.pathname === '/down') {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('unavailable');
    } else if (url.pathname === '/slow') {
      setTimeout(() => res.end('late'), 10_000).unref();
    } else if (url.pathname === '/echo') {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ method: req.method, contentType: req.headers['content-type'] ?? null, token: req.headers['x-token'] ?? null, body }));
      });
    } else if (url.pathname === '/redirect') {
      res.writeHead(302, { location: '/health' });
      res.end();
    } else if (url.pathname === '/huge') {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('x'.repeat(MAX_BODY_BYTES * 2));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

async function closedPort(): Promise<number> {
  const probeServer = createServer();
  await new Promise<void>((resolve) => probeServer.listen(0, '127.0.0.1', resolve));
  const { port } = probeServer.address() as AddressInfo;
  await new Promise((resolve) => probeServer.close(resolve));
  return port;
}

describe('http.request', () => {
  it('reports status, headers, text body and parsed JSON', async () => {
    const output = await run({ url: `${base}/health` });
    expect(output).toMatchObject({ status: 200, body: '{"status":"ok","items":[1,2]}', json: { status: 'ok', items: [1, 2] } });
    expect(output.headers).toMatchObject({ 'content-type': 'application/json', 'x-instance': 'a' });
    expect(output.latency).toBeGreaterThanOrEqual(0);
    expect(output.error).toBeUndefined();
    expect(checkExpectations(output, probe.defaultExpect as never)).toEqual([]);
  });

  it('reports a 503 as a status, which the default tolerance rejects', async () => {
    const output = await run({ url: `${base}/down` });
    expect(output).toMatchObject({ status: 503, body: 'unavailable', json: undefined });
    expect(checkExpectations(output, probe.defaultExpect as never).map((m) => m.message)).toEqual([
      'status: expected between 200 and 399, got 503',
    ]);
  });

  it('sends method, headers and a JSON body', async () => {
    const output = await run({ url: `${base}/echo`, method: 'post', headers: { 'x-token': 's3cret' }, body: { a: 1 } });
    expect(output.json).toEqual({ method: 'POST', contentType: 'application/json', token: 's3cret', body: '{"a":1}' });
    const text = await run({ url: `${base}/echo`, method: 'PUT', body: 'plain' });
    expect(text.json).toMatchObject({ method: 'PUT', body: 'plain' });
  });

  it('turns a refused connection into an output with status null and the reason', async () => {
    const port = await closedPort();
    const output = await run({ url: `http://127.0.0.1:${port}/` });
    expect(output.status).toBeNull();
    expect(output.error).toContain('ECONNREFUSED');
    const [miss] = checkExpectations(output, probe.defaultExpect as never);
    expect(miss?.message).toMatch(/^status: expected between 200 and 399, got null \(.*ECONNREFUSED/);
  });

  it('turns a timeout into an output and does not wait for the slow response', async () => {
    const started = Date.now();
    const output = await run({ url: `${base}/slow`, timeout: '200ms' });
    expect(Date.now() - started).toBeLessThan(10_000); // not the slow answer's 10 s
    expect(output).toMatchObject({ status: null, error: 'timeout after 200ms' });
    expect(output.latency).toBeGreaterThanOrEqual(190);
  });

  it('follows redirects by default and can report them instead', async () => {
    expect((await run({ url: `${base}/redirect` })).status).toBe(200);
    const manual = await run({ url: `${base}/redirect`, followRedirects: false });
    expect(manual.status).toBe(302);
    expect((manual.headers as Record<string, string>).location).toBe('/health');
  });

  it('caps the body at 1 MiB', async () => {
    const output = await run({ url: `${base}/huge` });
    expect(output.status).toBe(200);
    expect((output.body as string).length).toBe(MAX_BODY_BYTES);
  });

  it('stops at once and throws when the run is aborted', async () => {
    const controller = new AbortController();
    const pending = run({ url: `${base}/slow`, timeout: '10s' }, testContext(controller.signal));
    setTimeout(() => controller.abort(new Error('run stopped')), 50);
    await expect(pending).rejects.toThrow('run stopped');
  });

  it('rejects bad arguments by path', () => {
    const result = probe.args.safeParse({ url: 'ftp://example', timeout: 'soon' });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join('.')).sort()).toEqual(['timeout', 'url']);
  });
});

describe('each http probe on a connection of its own', () => {
  it('opens a new connection for every probe, never reusing a kept-alive one', async () => {
    const before = connections;
    for (let i = 0; i < 3; i++) expect((await run({ url: `${base}/health` })).status).toBe(200);
    expect(connections - before).toBe(3);
  });
});
