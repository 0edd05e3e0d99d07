// The fault proxy between real clients and real servers: undici and node:http with and without
// keep-alive, curl, streamed bodies, a slow and a dead upstream, hostile requests, HTTPS on both sides,
// and each kind of fault with its exact counts.
import { execFile, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Agent, fetch as undiciFetch, request as undiciRequest } from 'undici';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { findNginx } from '../testenv/nginx.js';
import { waitFor } from './support/cli.js';
import { isCI } from './support/testenv.js';
import { processesWithToken } from '../src/drivers/faultproxy/managed.js';
import { startFaultProxy, type RunningFaultProxy } from './support/faultproxy.js';
import { freePort } from './support/ports.js';
import { startHttpServer, type Listening } from './support/traffic.js';

const run = promisify(execFile);
const cleanups: (() => unknown)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
});

/** Echoes what it received: method, url, headers, and the body's length and sha256; /big streams 32 MB; /slow answers after 1.5 s. */
function upstreamHandler(req: IncomingMessage, res: ServerResponse): void {
  if (req.url === '/big') {
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    let left = 32;
    const chunk = Buffer.alloc(1024 * 1024, 7);
    const write = () => {
      while (left > 0) {
        left--;
        if (!res.write(chunk)) return void res.once('drain', write);
      }
      res.end();
    };
    return write();
  }
  if (req.url === '/slow') {
    setTimeout(() => res.end('slow but sure'), 1_500);
    return;
  }
  const hash = createHash('sha256');
  let length = 0;
  req.on('data', (chunk: Buffer) => {
    length += chunk.length;
    hash.update(chunk);
  });
  req.on('end', () => {
    const body = JSON.stringify({ method: req.method, url: req.url, headers: req.headers, length, sha256: hash.digest('hex') });
    res.writeHead(200, { 'content-type': 'application/json', connection: 'keep-alive, x-upstream-hop', 'x-upstream-hop': 'secret', 'keep-alive': 'timeout=5' });
    res.end(body);
  });
}

let upstream: Listening;
let proxy: RunningFaultProxy;
let base: string;

beforeAll(async () => {
  upstream = await startHttpServer(upstreamHandler);
  cleanups.push(() => upstream.close());
  proxy = await startFaultProxy([{ name: 'api', listen: '127.0.0.1:0', upstream: `http://127.0.0.1:${upstream.port}` }]);
  cleanups.push(() => proxy.stop());
  base = `http://${proxy.listen('api')}`;
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function nodeGet(url: string, agent: HttpAgent | false, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent, headers, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

describe('passthrough', () => {
  it('undici with keep-alive: many requests on few connections, the Host kept, X-Forwarded-For added, hop-by-hop headers dropped both ways', async () => {
    const agent = new Agent({ connections: 2 });
    cleanups.push(() => agent.close());
    for (let i = 0; i < 20; i++) {
      const response = await undiciRequest(`${base}/items/${i}?q=1`, {
        dispatcher: agent,
        headers: { 'x-forwarded-for': '10.0.0.1', te: 'trailers', 'proxy-authorization': 'Basic eA==', 'x-end-to-end': 'kept' },
      });
      const echoed = (await response.body.json()) as { url: string; headers: Record<string, string> };
      expect(response.statusCode).toBe(200);
      expect(echoed.url).toBe(`/items/${i}?q=1`);
      expect(echoed.headers.host).toBe(proxy.listen('api'));
      expect(echoed.headers['x-forwarded-for']).toBe('10.0.0.1, 127.0.0.1');
      expect(echoed.headers['x-forwarded-proto']).toBe('http');
      expect(echoed.headers['x-end-to-end']).toBe('kept');
      for (const hop of ['te', 'proxy-authorization']) expect(echoed.headers[hop]).toBeUndefined();
      expect(response.headers['x-upstream-hop']).toBeUndefined();
      expect(response.headers['content-type']).toBe('application/json');
    }
  });

  it("node:http with and without keep-alive, and curl; the proxy's totals count every request", async () => {
    const before = (await fetchTotals()).requests;
    const keepAlive = new HttpAgent({ keepAlive: true, maxSockets: 1 });
    cleanups.push(() => keepAlive.destroy());
    for (let i = 0; i < 5; i++) expect((await nodeGet(`${base}/ka`, keepAlive)).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await nodeGet(`${base}/close`, false)).status).toBe(200);
    const { stdout } = await run('curl', ['-sS', '--max-time', '10', '-H', 'Connection: keep-alive', `${base}/curl`, `${base}/curl2`]);
    expect(stdout).toContain('"url":"/curl"');
    expect(stdout).toContain('"url":"/curl2"');
    expect((await fetchTotals()).requests - before).toBe(12);
  });

  it('a large body streams both ways intact (16 MB up, 32 MB down)', async () => {
    const upload = randomBytes(16 * 1024 * 1024);
    const response = await undiciRequest(`${base}/upload`, { method: 'POST', body: upload });
    const echoed = (await response.body.json()) as { length: number; sha256: string };
    expect(echoed.length).toBe(upload.length);
    expect(echoed.sha256).toBe(createHash('sha256').update(upload).digest('hex'));
    const big = await undiciRequest(`${base}/big`);
    let received = 0;
    for await (const chunk of big.body) received += (chunk as Buffer).length;
    expect(received).toBe(32 * 1024 * 1024);
  });

  it('a chunked upload of unknown length is forwarded', async () => {
    const { stdout } = await run('sh', ['-c', `head -c 300000 /dev/zero | curl -sS --max-time 10 -H 'Transfer-Encoding: chunked' --data-binary @- ${base}/chunked`]);
    expect(JSON.parse(stdout).length).toBe(300_000);
  });

  it('a slow upstream is waited for, not cut off', async () => {
    const response = await undiciFetch(`${base}/slow`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('slow but sure');
  });
});

async function fetchTotals(): Promise<{ requests: number; upstreamErrors: number; clientErrors: number }> {
  const { faultproxyDriver } = await import('../src/drivers/faultproxy/index.js');
  return (await faultproxyDriver.probes.counters.run({ proxy: 'api' }, proxy.ctx)) as never;
}

describe('failures of the upstream and of the callers', () => {
  it('the upstream down: a 502 from the proxy, which keeps serving', async () => {
    const dead = await freePort();
    const lonely = await startFaultProxy([{ name: 'dead', listen: '127.0.0.1:0', upstream: `http://127.0.0.1:${dead}` }]);
    cleanups.push(() => lonely.stop());
    for (let i = 0; i < 3; i++) {
      const response = await undiciFetch(`http://${lonely.listen('dead')}/x`);
      expect(response.status).toBe(502);
      expect(await response.text()).toContain('ECONNREFUSED');
    }
    const counters = (await (await import('../src/drivers/faultproxy/index.js')).faultproxyDriver.probes.counters.run({ proxy: 'dead' }, lonely.ctx)) as { upstreamErrors: number };
    expect(counters.upstreamErrors).toBe(3);
  });

  function raw(port: number, request: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1');
      let answer = '';
      socket.setTimeout(5_000, () => socket.destroy(new Error('no answer within 5 s')));
      socket.on('data', (chunk) => (answer += chunk.toString()));
      socket.on('close', () => resolve(answer));
      socket.on('error', (error) => (answer ? resolve(answer) : reject(error)));
      socket.write(request);
    });
  }

  it('headers the Connection header names are not forwarded (undici will not send such a header, so a raw request)', async () => {
    const answer = await raw(proxy.port('api'), 'GET /hop HTTP/1.1\r\nHost: x\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: timeout=1\r\nUpgrade: h2c\r\nX-Kept: 1\r\n\r\n');
    const echoed = JSON.parse(answer.slice(answer.indexOf('{'), answer.lastIndexOf('}') + 1)) as { headers: Record<string, string> };
    expect(echoed.headers['x-kept']).toBe('1');
    for (const hop of ['x-hop', 'keep-alive', 'upgrade']) expect(echoed.headers[hop]).toBeUndefined();
  });

  it('oversized headers get a 431, bad chunked encoding a 400, a CONNECT a 405; the proxy goes on serving', async () => {
    const port = proxy.port('api');
    expect(await raw(port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(64 * 1024)}\r\n\r\n`)).toMatch(/^HTTP\/1\.1 431 /);
    expect(await raw(port, 'POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n')).toMatch(/^HTTP\/1\.1 400 /);
    expect(await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab')).toMatch(/^HTTP\/1\.1 400 /);
    expect(await raw(port, 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n')).toMatch(/^HTTP\/1\.1 405 /);
    expect((await undiciFetch(`${base}/still-here`)).status).toBe(200);
    expect((await fetchTotals()).clientErrors).toBeGreaterThanOrEqual(4);
  });
});

describe('faults, with exact counts', () => {
  it('status: 503 with Retry-After to the first 2 POSTs on /orders/*, then everything passes; other requests are seen and passed', async () => {
    const fault = await proxy.fault('status', { proxy: 'api', status: 503, first: 2, method: 'POST', path: '/orders/*', body: 'busy', responseHeaders: { 'Retry-After': '1' } });
    const statuses: number[] = [];
    for (const [method, path] of [['GET', '/orders/1'], ['POST', '/orders/1'], ['POST', '/orders/2'], ['POST', '/orders/3'], ['POST', '/other']] as const) {
      const response = await undiciRequest(`${base}${path}`, { method, body: method === 'POST' ? 'x' : null });
      statuses.push(response.statusCode);
      if (response.statusCode === 503) {
        expect(response.headers['retry-after']).toBe('1');
        expect(await response.body.text()).toBe('busy');
      } else await response.body.dump();
    }
    expect(statuses).toEqual([200, 503, 503, 200, 200]);
    const logs = await fault.remove();
    expect(logs.join('\n')).toContain('503 to 2 of 5 requests, 3 passed');
    const reach = await fault.reach();
    expect(reach).toMatchObject({ source: 'injected', reached: true, counts: { seen: 5, faulted: 2, passed: 3 } });
    expect(reach.summary).toBe('503 to 2 of 5 requests through fault proxy api (3 passed)');
    // Removed: the next POST passes, and the counts no longer move.
    expect((await undiciRequest(`${base}/orders/9`, { method: 'POST', body: 'x' })).statusCode).toBe(200);
    expect((await fault.reach()).counts).toEqual({ seen: 5, faulted: 2, passed: 3 });
    // Undoing twice is harmless and changes nothing.
    expect((await fault.remove()).join('\n')).toContain('503 to 2 of 5 requests');
  });

  it('a response header node:http refuses ends that request, not the proxy', async () => {
    const fault = await proxy.fault('status', { proxy: 'api', path: '/bad-header', responseHeaders: { 'X-Bad': 'line\nbreak' } });
    const failed = await undiciFetch(`${base}/bad-header`).then(
      () => 'answered',
      () => 'failed',
    );
    expect(failed).toBe('failed');
    expect((await undiciFetch(`${base}/after-bad-header`)).status).toBe(200);
    await fault.remove();
  });

  it('a fault that no request reaches is reported as not reached', async () => {
    const fault = await proxy.fault('status', { proxy: 'api', path: '/never' });
    await (await undiciRequest(`${base}/elsewhere`)).body.dump();
    await fault.remove();
    expect(await fault.reach()).toMatchObject({ reached: false, counts: { seen: 1, faulted: 0, passed: 1 } });
  });

  it('abort: reset gives ECONNRESET, close an empty reply (curl exit 52)', async () => {
    const reset = await proxy.fault('abort', { proxy: 'api', mode: 'reset', path: '/reset' });
    const error = await nodeGet(`${base}/reset`, false).then(
      () => undefined,
      (e: NodeJS.ErrnoException) => e,
    );
    expect(error?.code).toBe('ECONNRESET');
    await reset.remove();
    const close = await proxy.fault('abort', { proxy: 'api', mode: 'close', path: '/close-me' });
    const curl = await run('curl', ['-sS', '--max-time', '5', `${base}/close-me`]).then(
      () => 0,
      (e: { code: number }) => e.code,
    );
    expect(curl).toBe(52);
    await close.remove();
    expect((await reset.reach()).summary).toBe('reset 1 of 1 request through fault proxy api (0 passed)');
    expect((await close.reach()).counts).toEqual({ seen: 1, faulted: 1, passed: 0 });
  });

  it('delay of the first byte and throttle: the caller waits at least that long', async () => {
    const delay = await proxy.fault('delay', { proxy: 'api', delay: '400ms', path: '/delayed' });
    const started = performance.now();
    expect((await undiciFetch(`${base}/delayed`)).status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(390);
    await delay.remove();
    const throttle = await proxy.fault('throttle', { proxy: 'api', bytesPerSecond: 512 * 1024, path: '/big' });
    const throttledStart = performance.now();
    const big = await undiciRequest(`${base}/big`);
    let received = 0;
    for await (const chunk of big.body) {
      received += (chunk as Buffer).length;
      if (received >= 1024 * 1024) break;
    }
    // 1 MB at 512 KB/s: at least about 2 s (the first slice goes at once).
    expect(performance.now() - throttledStart).toBeGreaterThanOrEqual(1_800);
    await throttle.remove();
    expect((await throttle.reach()).counts).toEqual({ seen: 1, faulted: 1, passed: 0 });
  });

  it('a share is drawn from the run seed: two proxies with the same seed fault the same requests', async () => {
    const pattern = async (seed: number) => {
      const own = await startFaultProxy([{ name: 'api', listen: '127.0.0.1:0', upstream: `http://127.0.0.1:${upstream.port}` }], { seed });
      cleanups.push(() => own.stop());
      const fault = await own.fault('status', { proxy: 'api', share: '30%', name: 'share' });
      let marks = '';
      for (let i = 0; i < 40; i++) {
        const response = await undiciRequest(`http://${own.listen('api')}/s`);
        await response.body.dump();
        marks += response.statusCode === 503 ? 'x' : '.';
      }
      const reach = await fault.reach();
      await own.stop();
      return { marks, reach };
    };
    const first = await pattern(7);
    const again = await pattern(7);
    const other = await pattern(8);
    expect(again.marks).toBe(first.marks);
    expect(other.marks).not.toBe(first.marks);
    expect(first.reach.counts!.faulted).toBe([...first.marks].filter((m) => m === 'x').length);
    expect(first.reach.counts!.faulted).toBeGreaterThan(0);
  });

  it('several faults at once: met in the order they were added', async () => {
    const slow = await proxy.fault('delay', { proxy: 'api', delay: '50ms', stage: 'response', path: '/both' });
    const fail = await proxy.fault('status', { proxy: 'api', status: 500, every: 2, path: '/both' });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const response = await undiciRequest(`${base}/both`);
      await response.body.dump();
      statuses.push(response.statusCode);
    }
    expect(statuses).toEqual([200, 500, 200, 500]);
    await fail.remove();
    await slow.remove();
    expect((await slow.reach()).counts).toEqual({ seen: 4, faulted: 4, passed: 0 });
    expect((await fail.reach()).counts).toEqual({ seen: 4, faulted: 2, passed: 2 });
  });
});

describe('HTTPS both ways', () => {
  it('callers reach the proxy over TLS with its certificate, and it reaches an HTTPS upstream trusting a CA', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'faultline-faultproxy-tls-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const openssl = (args: string[]) => run('openssl', args, { cwd: dir });
    await openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=faultline test CA']);
    await openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=127.0.0.1']);
    await run('sh', ['-c', 'printf "subjectAltName=IP:127.0.0.1,DNS:localhost\\n" > san.ext && openssl x509 -req -in leaf.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out leaf.crt -days 1 -extfile san.ext'], { cwd: dir });
    const [cert, key, ca] = await Promise.all(['leaf.crt', 'leaf.key', 'ca.crt'].map((f) => readFile(join(dir, f))));
    const secure = createHttpsServer({ cert, key }, upstreamHandler);
    await new Promise<void>((resolve) => secure.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => secure.close(resolve)));
    const upstreamPort = (secure.address() as AddressInfo).port;
    const tls = await startFaultProxy([{ name: 'tls', listen: '127.0.0.1:0', upstream: `https://127.0.0.1:${upstreamPort}`, tls: { cert: 'leaf.crt', key: 'leaf.key' }, upstreamCa: 'ca.crt' }], { cwd: dir });
    cleanups.push(() => tls.stop());
    const agent = new Agent({ connect: { ca } });
    cleanups.push(() => agent.close());
    const response = await undiciRequest(`https://${tls.listen('tls')}/secure`, { dispatcher: agent });
    const echoed = (await response.body.json()) as { url: string; headers: Record<string, string> };
    expect(response.statusCode).toBe(200);
    expect(echoed.url).toBe('/secure');
    expect(echoed.headers['x-forwarded-proto']).toBe('https');
    const { stdout } = await run('curl', ['-sS', '--max-time', '10', '--cacert', join(dir, 'ca.crt'), `https://${tls.listen('tls')}/curl`]);
    expect(stdout).toContain('"url":"/curl"');
    const fault = await tls.fault('status', { proxy: 'tls', status: 503, first: 1 });
    expect((await undiciRequest(`https://${tls.listen('tls')}/f`, { dispatcher: agent })).statusCode).toBe(503);
    await fault.remove();
    // Without the CA the proxy does not trust the upstream: a 502, not a crash.
    const untrusting = await startFaultProxy([{ name: 'tls', listen: '127.0.0.1:0', upstream: `https://127.0.0.1:${upstreamPort}` }], { cwd: dir });
    cleanups.push(() => untrusting.stop());
    expect((await undiciFetch(`http://${untrusting.listen('tls')}/x`)).status).toBe(502);
  });
});

describe('the process', () => {
  it('stopping is idempotent and leaves nothing listening', async () => {
    const own = await startFaultProxy([{ name: 'api', listen: '127.0.0.1:0', upstream: `http://127.0.0.1:${upstream.port}` }]);
    const port = own.port('api');
    expect((await undiciFetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
    const token = (own as unknown as { ctx: { runId: string } }).ctx.runId;
    expect((await own.stop()).join('\n')).toMatch(/stopped the fault proxy \(pid \d+\)/);
    expect((await own.stop()).join('\n')).toMatch(/never started|already exited/);
    const refused = await undiciFetch(`http://127.0.0.1:${port}/`).then(
      () => 'answered',
      (e: Error & { cause?: { code?: string } }) => e.cause?.code,
    );
    expect(refused).toBe('ECONNREFUSED');
    expect(await processesWithToken(`${token}-nothing`)).toEqual([]);
  });
});

/** nginx in the foreground with its own prefix and config (the `http` block's body given), killed in afterAll. */
async function startNginx(ctx: TestContext, port: number, http: string[]): Promise<void> {
  const binary = await findNginx();
  if (!binary) {
    const message = "nginx is needed by this test: install Debian's nginx with `npm run testenv -- up`";
    if (isCI()) throw new Error(message);
    ctx.skip(message);
  }
  const dir = await mkdtemp(join(tmpdir(), 'faultline-faultproxy-nginx-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'temp'));
  const config = [
    'daemon off;',
    'worker_processes 1;',
    `pid ${join(dir, 'nginx.pid')};`,
    `error_log ${join(dir, 'error.log')} warn;`,
    'events { worker_connections 256; }',
    'http {',
    '  access_log off;',
    ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((kind) => `  ${kind}_temp_path ${join(dir, 'temp', kind)};`),
    ...http.map((line) => `  ${line}`),
    '}',
  ].join('\n');
  await writeFile(join(dir, 'nginx.conf'), config);
  const child = spawn(binary!, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { stdio: 'ignore', detached: true });
  // Its own process group: the master and its worker go together.
  cleanups.push(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // gone already
    }
  });
  await waitFor(`nginx on port ${port}`, async () => (await undiciFetch(`http://127.0.0.1:${port}/`).then(() => true, () => false)), 10_000);
}

describe('nginx on either side', () => {
  it('nginx as the upstream: its answers pass through, and a fault answers in its place', async (ctx) => {
    const port = await freePort();
    await startNginx(ctx, port, [`server { listen 127.0.0.1:${port}; location / { default_type text/plain; return 200 "from nginx $request_uri $http_x_forwarded_for"; } }`]);
    const front = await startFaultProxy([{ name: 'nginx', listen: '127.0.0.1:0', upstream: `http://127.0.0.1:${port}` }]);
    cleanups.push(() => front.stop());
    const agent = new Agent({ connections: 1 });
    cleanups.push(() => agent.close());
    for (let i = 0; i < 5; i++) {
      const response = await undiciRequest(`http://${front.listen('nginx')}/n/${i}`, { dispatcher: agent });
      expect(response.statusCode).toBe(200);
      expect(await response.body.text()).toBe(`from nginx /n/${i} 127.0.0.1`);
    }
    const fault = await front.fault('status', { proxy: 'nginx', status: 503, every: 2 });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const response = await undiciRequest(`http://${front.listen('nginx')}/f`, { dispatcher: agent });
      await response.body.dump();
      statuses.push(response.statusCode);
    }
    expect(statuses).toEqual([200, 503, 200, 503]);
    await fault.remove();
  });

  it("nginx as the caller: `proxy_next_upstream http_503` retries the proxy's 503s on the other server; without it the 503s reach the client", async (ctx) => {
    const port = await freePort();
    const front = await startFaultProxy([{ name: 'one', listen: '127.0.0.1:0', upstream: `http://127.0.0.1:${upstream.port}` }]);
    cleanups.push(() => front.stop());
    await startNginx(ctx, port, [
      // max_fails=0: a 503 must not take the proxy out of the rotation, or nginx would stop asking it.
      `upstream pair { server ${front.listen('one')} max_fails=0; server 127.0.0.1:${upstream.port} max_fails=0; }`,
      `server { listen 127.0.0.1:${port};`,
      '  location /retry/ { proxy_pass http://pair; proxy_next_upstream error timeout http_503; }',
      '  location /noretry/ { proxy_pass http://pair; proxy_next_upstream off; }',
      '  location = / { return 200; }',
      '}',
    ]);
    const fault = await front.fault('status', { proxy: 'one', status: 503, name: 'nginx-retry' });
    const through = async (path: string) => {
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++) {
        const response = await undiciRequest(`http://127.0.0.1:${port}${path}${i}`);
        await response.body.dump();
        statuses.push(response.statusCode);
      }
      return statuses;
    };
    expect(await through('/retry/')).toEqual(Array(10).fill(200));
    const retried = (await fault.reach()).counts!;
    // Round robin sent about half the first attempts to the proxy, and each of those got a 503.
    expect(retried.faulted).toBeGreaterThan(0);
    expect(retried.faulted).toBe(retried.seen);
    const without = await through('/noretry/');
    expect(without.filter((s) => s === 503).length).toBe((await fault.reach()).counts!.faulted - retried.faulted);
    expect(without).toContain(503);
    await fault.remove();
  });
});
