// The prometheus driver end to end through the CLI, against a real Prometheus (Debian's package)
// scraping a real instrumented service every second, with real faults through the test Toxiproxy:
// steady state met and missed, an empty result, a Prometheus that is down, and an abort on an
// error-ratio query that trips during a fault and undoes it.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Journal } from '../src/engine/journal.js';
import { runCli } from './support/cli.js';
import { freePort } from './support/ports.js';
import { requirePrometheusBinary, startMetricsApi, startPrometheus, waitForScrapes, type MetricsApi, type RunningPrometheus } from './support/prometheus.js';
import { requireToxiproxy } from './support/testenv.js';

// Fixed ports of this driver's range (21700-21799): Toxiproxy listens where the experiments say.
const STEADY_PROXY = 21712;
const ABORT_PROXY = 21722;
const GOOD_PROXY = 21732;
const BROKEN_PROXY = 21742;

let prometheus: RunningPrometheus | undefined;
let dir = '';
const apis: Record<string, MetricsApi> = {};
let downPort = 0;
const healingPorts: Record<string, [number, number]> = {};

beforeAll(async () => {
  const binary = await requirePrometheusBinary();
  dir = await mkdtemp(join(tmpdir(), 'faultline-prometheus-e2e-'));
  apis.steady = await startMetricsApi({ backendPort: 0, upstream: `127.0.0.1:${STEADY_PROXY}` });
  apis.abort = await startMetricsApi({ backendPort: 0, upstream: `127.0.0.1:${ABORT_PROXY}` });
  apis.good = await startMetricsApi({ backendPort: 0, upstream: `127.0.0.1:${GOOD_PROXY}`, retries: 6 });
  apis.broken = await startMetricsApi({ backendPort: 0, upstream: `127.0.0.1:${BROKEN_PROXY}` });
  healingPorts.supervised = [await freePort(), await freePort()];
  healingPorts.alone = [await freePort(), await freePort()];
  apis.supervised = await startMetricsApi({ apiPort: healingPorts.supervised[0], backendPort: healingPorts.supervised[1], supervise: true });
  apis.alone = await startMetricsApi({ apiPort: healingPorts.alone[0], backendPort: healingPorts.alone[1] });
  downPort = await freePort(); // nothing listens: its job is scraped as down
  prometheus = await startPrometheus(binary, {
    api: [`127.0.0.1:${apis.steady.apiPort}`],
    'abort-api': [`127.0.0.1:${apis.abort.apiPort}`],
    down: [`127.0.0.1:${downPort}`],
    good: [`127.0.0.1:${apis.good.apiPort}`],
    broken: [`127.0.0.1:${apis.broken.apiPort}`],
    supervised: [`127.0.0.1:${apis.supervised.apiPort}`],
    alone: [`127.0.0.1:${apis.alone.apiPort}`],
  });
  await waitForScrapes(prometheus.url, 'api', 2);
  await waitForScrapes(prometheus.url, 'down', 2);
}, 90_000);

afterAll(async () => {
  await prometheus?.stop();
  for (const api of Object.values(apis)) await api.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function run(file: string, name: string, vars: string[]): Promise<{ code: number | null; stdout: string; stderr: string; journal: Journal }> {
  const journalPath = join(dir, `${name}.json`);
  const result = await runCli(['run', file, '--journal', journalPath, '--ledger-dir', join(dir, `${name}-ledger`), ...vars.flatMap((v) => ['--var', v])]);
  const journal = JSON.parse(await readFile(journalPath, 'utf8')) as Journal;
  return { ...result, journal };
}

describe('experiments/prometheus-steady-state.yaml', () => {
  const file = 'experiments/prometheus-steady-state.yaml';
  const vars = () => [`prometheus=${prometheus!.url}`, `api=${apis.steady!.apiPort}`, `backend=${apis.steady!.backendPort}`, `toxiproxy.listen=${STEADY_PROXY}`];

  it('passes on a healthy API: the steady state is met before and after, and the method probe sees traffic', async (ctx) => {
    await requireToxiproxy(ctx);
    const { code, journal, stdout } = await run(file, 'steady-met', vars());
    expect(journal.status, `${journal.reason}\n${stdout}`).toBe('passed');
    expect(code).toBe(0);
    expect(journal.hypothesis.before?.met).toBe(true);
    expect(journal.hypothesis.after?.met).toBe(true);
    const up = journal.activities.find((a) => a.phase === 'before' && a.ref.startsWith('prometheus'))!;
    const output = up.output as { query: string; value: number; series: { labels: Record<string, string> }[] };
    expect(output.query).toBe('up{job="api"}');
    expect(output.value).toBe(1);
    expect(output.series[0]!.labels.job).toBe('api');
    const polled = journal.activities.find((a) => a.phase === 'method' && a.kind === 'probe')!;
    expect(polled.status).toBe('succeeded');
    expect((polled.output as { value: number }).value).toBeGreaterThan(0);
    expect(journal.faults[0]!.status).toBe('undone');
  }, 90_000);

  it('is deviated when the target is down: the miss names the series and its value, and no fault is applied', async (ctx) => {
    await requireToxiproxy(ctx);
    const { code, journal } = await run(file, 'steady-missed', [...vars(), 'job=down']);
    expect(code).toBe(1);
    expect(journal.status).toBe('deviated');
    expect(journal.faults).toHaveLength(0);
    expect(journal.reason).toContain(`up{instance="127.0.0.1:${downPort}",job="down"} = 0, expected = 1`);
  }, 90_000);

  it('misses on an empty result by default, and says so', async (ctx) => {
    await requireToxiproxy(ctx);
    const { code, journal } = await run(file, 'steady-empty', [...vars(), 'job=no-such-job']);
    expect(code).toBe(1);
    expect(journal.reason).toContain('the query returned no series');
    expect(journal.faults).toHaveLength(0);
  }, 90_000);

  it('refuses to start when Prometheus is down: E_PREFLIGHT with a hint, before any fault', async (ctx) => {
    await requireToxiproxy(ctx);
    const closed = await freePort();
    const { code, journal } = await run(file, 'steady-down', [...vars(), `prometheus=http://127.0.0.1:${closed}`]);
    expect(code).toBe(4);
    expect(journal.error?.code).toBe('E_PREFLIGHT');
    expect(journal.error?.message).toContain(`Prometheus at http://127.0.0.1:${closed} cannot be reached`);
    expect(journal.error?.hint).toContain('targets.prometheus.url');
    expect(journal.faults).toHaveLength(0);
    expect(journal.activities.some((a) => a.phase === 'before')).toBe(false);
  }, 90_000);
});

describe('experiments/prometheus-abort.yaml', () => {
  it('trips on the error ratio during a real fault, undoes it at once and exits 3', async (ctx) => {
    await requireToxiproxy(ctx);
    const vars = [`prometheus=${prometheus!.url}`, 'job=abort-api', `api=${apis.abort!.apiPort}`, `backend=${apis.abort!.backendPort}`, `toxiproxy.listen=${ABORT_PROXY}`];
    const { code, journal, stdout } = await run('experiments/prometheus-abort.yaml', 'abort', vars);
    expect(journal.status, `${journal.reason}\n${stdout}`).toBe('aborted');
    expect(code).toBe(3);
    expect(journal.abort?.condition).toBe("the API's error ratio is above 20%");
    const fault = journal.faults[0]!;
    expect(fault.status).toBe('undone');
    // Undone long before its 30 s were up: the abort, not the schedule, ended it.
    expect(fault.undoneAtMs! - fault.appliedAtMs!).toBeLessThan(25_000);
    const misses = journal.activities.filter((a) => a.phase === 'abort-check');
    expect(misses.length).toBeGreaterThanOrEqual(2);
    expect(JSON.stringify(misses.at(-1)!.output)).toContain('expected at most 0.2');

    // The figure for the report: from the first scraped-and-evaluated sample above the bound to the undo.
    const query = 'sum(rate(api_errors_total{job="abort-api"}[3s])) / clamp_min(sum(rate(api_requests_total{job="abort-api"}[3s])), 1)';
    const applied = Date.parse(fault.appliedAt!);
    const undone = Date.parse(fault.undoneAt!);
    const params = new URLSearchParams({ query, start: String(applied / 1000 - 1), end: String(undone / 1000), step: '0.1' });
    const body = (await (await fetch(`${prometheus!.url}/api/v1/query_range?${params}`)).json()) as { data?: { result: { values: [number, string][] }[] } };
    expect(body.data, JSON.stringify(body)).toBeDefined();
    const crossing = body.data!.result[0]?.values.find(([, v]) => Number(v) > 0.2);
    if (crossing) {
      process.stdout.write(`prometheus abort: fault applied → metric above 20%: ${Math.round(crossing[0] * 1000 - applied)} ms; metric above 20% → undone: ${Math.round(undone - crossing[0] * 1000)} ms; abort → undone: ${undone - Date.parse(journal.abort!.at)} ms\n`);
    }
  }, 120_000);
});

describe('experiments/prometheus-verdict-retries.yaml: retries judged from Prometheus', () => {
  const vars = (job: 'good' | 'broken', proxy: number) => [
    `prometheus=${prometheus!.url}`,
    `job=${job}`,
    `api=${apis[job]!.apiPort}`,
    `backend=${apis[job]!.backendPort}`,
    `toxiproxy.listen=${proxy}`,
    `toxiproxy.proxy=faultline-example-prometheus-retries-${job}`,
  ];

  it('passes on the API that retries, with the samples and the evidence of reach', async (ctx) => {
    await requireToxiproxy(ctx);
    const { code, journal } = await run('experiments/prometheus-verdict-retries.yaml', 'verdict-good', vars('good', GOOD_PROXY));
    const verdict = journal.verdicts.find((v) => v.name === 'retries')!;
    expect(verdict.result, verdict.evidence.summary).toBe('pass');
    expect(code).toBe(0);
    const readings = journal.metrics ?? [];
    expect(readings.map((r) => r.role).sort()).toEqual(['judged', 'reached']);
    expect(readings[0]!.query).toContain('api_errors_total{job="good"}');
    expect(readings.find((r) => r.role === 'judged')!.series[0]!.samples.length).toBeGreaterThanOrEqual(3);
    expect(verdict.evidence.checks.find((c) => c.what.startsWith('reached'))?.ok).toBe(true);
  }, 120_000);

  it('fails on the API that does not retry, naming the samples above the bound', async (ctx) => {
    await requireToxiproxy(ctx);
    const { code, journal } = await run('experiments/prometheus-verdict-retries.yaml', 'verdict-broken', vars('broken', BROKEN_PROXY));
    const verdict = journal.verdicts.find((v) => v.name === 'retries')!;
    expect(verdict.result, verdict.evidence.summary).toBe('fail');
    expect(code).toBe(1);
    expect(verdict.evidence.summary).toContain('expected at most 0.1');
    expect(verdict.evidence.figures.max).toBeGreaterThan(0.1);
  }, 120_000);
});

describe('experiments/prometheus-self-healing.yaml: self-healing judged from up{job}', () => {
  it('passes on the supervised API (restarted after the kill) with the time to recover from the samples', async () => {
    await waitForScrapes(prometheus!.url, 'supervised', 2);
    const { journal } = await run('experiments/prometheus-self-healing.yaml', 'healing-good', [`prometheus=${prometheus!.url}`, 'job=supervised', `api=${apis.supervised!.apiPort}`]);
    const verdict = journal.verdicts.find((v) => v.name === 'self-healing')!;
    expect(verdict.result, `${verdict.evidence.summary} / ${journal.reason}`).toBe('pass');
    expect(verdict.evidence.figures.recoveryMs).toBeGreaterThan(0);
    expect(journal.metrics?.[0]?.query).toBe('up{job="supervised"}');
    process.stdout.write(`prometheus self-healing: ${verdict.evidence.summary}\n`);
  }, 120_000);

  it('fails on the API nothing restarts', async () => {
    await waitForScrapes(prometheus!.url, 'alone', 2);
    const { code, journal } = await run('experiments/prometheus-self-healing.yaml', 'healing-broken', [`prometheus=${prometheus!.url}`, 'job=alone', `api=${apis.alone!.apiPort}`]);
    const verdict = journal.verdicts.find((v) => v.name === 'self-healing')!;
    expect(verdict.result, verdict.evidence.summary).toBe('fail');
    expect(verdict.evidence.summary).toContain('not back');
    expect(code).toBe(1);
  }, 120_000);
});
