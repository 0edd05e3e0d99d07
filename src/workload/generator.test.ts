// The workload against real HTTP servers on 127.0.0.1 (started here; the generator is the code under test).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Workload, type WorkloadOptions } from './generator.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => { s.closeAllConnections(); s.close(r); })));
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function options(url: string, extra: Partial<WorkloadOptions>): WorkloadOptions {
  return { url, method: 'GET', headers: {}, body: undefined, timeoutMs: 2000, maxInFlight: 100, isSuccess: (s) => s < 400, ...extra };
}

async function drive(workload: Workload, ms: number) {
  workload.start();
  await sleep(ms);
  await workload.stop();
  return workload.result(0);
}

describe('Workload', () => {
  it('open model: sends at the asked rate and counts answers by class', async () => {
    let n = 0;
    const url = await serve((_req, res) => {
      n += 1;
      res.statusCode = n % 4 === 0 ? 503 : 200;
      res.end('ok');
    });
    const { workload, windows } = await drive(new Workload(options(url, { rate: 100 })), 1000);
    const total = windows.find((w) => w.kind === 'total')!;
    expect(total.requests).toBeGreaterThanOrEqual(95);
    expect(total.requests).toBeLessThanOrEqual(110);
    expect(total.outcomes['5xx']).toBe(Math.floor(total.requests / 4));
    expect(total.ok).toBe(total.requests - total.outcomes['5xx']);
    expect(workload.model).toBe('open');
  });

  it('open model: a stalled server shows in latency counted from when each request was due (no coordinated omission)', async () => {
    let stalledUntil = 0;
    const url = await serve((_req, res) => {
      const wait = Math.max(0, stalledUntil - Date.now());
      setTimeout(() => res.end('ok'), wait);
    });
    const workload = new Workload(options(url, { rate: 50 }));
    workload.start();
    await sleep(300);
    stalledUntil = Date.now() + 800;
    await sleep(1200);
    await workload.stop();
    const total = workload.result(0).windows.find((w) => w.kind === 'total')!;
    // Requests due at the start of the stall waited ~800 ms; a closed-loop tool would have sent fewer of them.
    expect(total.latency!.max).toBeGreaterThan(700);
    expect(total.requests).toBeGreaterThanOrEqual(70);
  });

  it('closed model: N users, each waiting for its answer before the next request', async () => {
    let inFlight = 0;
    let most = 0;
    const url = await serve((_req, res) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      setTimeout(() => {
        inFlight -= 1;
        res.end('ok');
      }, 20);
    });
    const { workload, windows } = await drive(new Workload(options(url, { concurrency: 3 })), 600);
    expect(most).toBe(3);
    const total = windows.find((w) => w.kind === 'total')!;
    expect(total.requests).toBeGreaterThan(30);
    expect(total.latency!.p50).toBeGreaterThanOrEqual(19);
    expect(workload).toMatchObject({ model: 'closed', concurrency: 3 });
  });

  it('a request unanswered within the timeout counts as timeout; a refused connection as connection-error', async () => {
    const url = await serve(() => {
      /* never answers */
    });
    const hung = await drive(new Workload(options(url, { rate: 20, timeoutMs: 200 })), 600);
    const total = hung.windows.find((w) => w.kind === 'total')!;
    expect(total.outcomes.timeout).toBeGreaterThan(5);
    expect(total.ok).toBe(0);
    expect(total.latency!.min).toBeGreaterThanOrEqual(195);

    const closed = await serve((_q, r) => r.end());
    servers.pop()!.close();
    await sleep(50);
    const refused = await drive(new Workload(options(closed, { rate: 20 })), 400);
    const refusedTotal = refused.windows.find((w) => w.kind === 'total')!;
    expect(refusedTotal.outcomes['connection-error']).toBeGreaterThan(3);
    expect(refusedTotal.ok).toBe(0);
  });

  it('open model: when every slot is taken, a due request is dropped and counted, not silently skipped', async () => {
    const url = await serve(() => {
      /* never answers */
    });
    const { windows } = await drive(new Workload(options(url, { rate: 50, maxInFlight: 5, timeoutMs: 1000 })), 500);
    const total = windows.find((w) => w.kind === 'total')!;
    expect(total.outcomes.dropped).toBeGreaterThan(10);
    expect(total.errors).toBe(total.requests);
  });

  it('stop(abandon) cuts off answers in flight at once and leaves them out', async () => {
    const url = await serve(() => {
      /* never answers */
    });
    const workload = new Workload(options(url, { rate: 20, timeoutMs: 10_000 }));
    workload.start();
    await sleep(300);
    const started = Date.now();
    await workload.stop(true);
    expect(Date.now() - started).toBeLessThan(10_000); // not the requests' 10 s timeout
    expect(workload.result(0).windows.find((w) => w.kind === 'total')!.requests).toBe(0);
  });

  it('a window event heard late moves the requests due since then, still unanswered, into the new window', async () => {
    // Answers take 400 ms, so every request due in the last 150 ms is still unanswered when the event arrives.
    const url = await serve((_req, res) => setTimeout(() => res.end('ok'), 400));
    const workload = new Workload(options(url, { rate: 100 }));
    workload.start();
    await sleep(500);
    const atMs = workload.elapsed() - 150;
    workload.recorder.faultApplied('f', 'late fault', atMs);
    expect(workload.reassignSince(atMs)).toBeGreaterThan(0);
    await sleep(200);
    await workload.stop();
    const windows = workload.result(0).windows;
    const baseline = windows.find((w) => w.kind === 'baseline')!;
    const fault = windows.find((w) => w.kind === 'fault')!;
    // Due every 10 ms from 0: exactly those due before atMs are the baseline's.
    expect(baseline.requests).toBe(Math.ceil(atMs / 10));
    expect(baseline.requests + fault.requests).toBe(windows.find((w) => w.kind === 'total')!.requests);
  });
});
