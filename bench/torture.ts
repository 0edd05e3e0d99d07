// The interruption campaign (`npm run torture`): randomized runs of the process, Toxiproxy and Docker
// experiments (bench/interruption/scenarios.ts), each interrupted at a random moment (loading, setup,
// apply, live, undo, teardown) by SIGINT, a double SIGINT, SIGTERM or SIGKILL. After each, the real
// server is checked for anything still applied: once the run exited (and, after SIGKILL or a double
// SIGINT, once the guardian had up to 45 s), then again after `faultline recover`. Also checked: no
// crash (an exit without a journal), and the exit code agrees with the journal.
//
//   FAULTLINE_TESTENV_STATE=/work/main/.testenv npm run torture -- [runs] [concurrency]   (default 300, 3)
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ledger } from '../src/safety/ledger.js';
import { availableServers, createScenario, pollUntil, startRun, type DriverName, type Servers } from './interruption/scenarios.js';

export const SIGNAL_PLANS = ['SIGINT', 'SIGINT×2', 'SIGTERM', 'SIGKILL'] as const;
export type SignalPlan = (typeof SIGNAL_PLANS)[number];

export interface CaseResult {
  driver: DriverName;
  plan: SignalPlan;
  moment: Moment;
  delayMs: number;
  /** The last phase the run had printed when the signal came. */
  phase: string;
  code: number | null;
  status?: string;
  /** Still applied once the run exited (after SIGKILL or a double SIGINT: after the guardian's grace). */
  leftBehind: string[];
  /** Entries the ledger still held open once the run (and guardian) were done: left to `recover`. */
  ledgerOpen?: number;
  /** Still applied after `faultline recover`. */
  afterRecover: string[];
  /** What went wrong besides leftovers: a crash, an exit code the journal contradicts. */
  problems: string[];
}

/**
 * Where to interrupt: after which line of the run's output (then a random delay within that phase).
 * Loading: before any output, while the CLI's modules load.
 */
export const MOMENTS = {
  loading: undefined,
  setup: 'watches this run',
  preflight: 'Preflight',
  live: '⚡',
  undo: '↺ undo',
  teardown: 'Teardown',
} as const;
export type Moment = keyof typeof MOMENTS;
/** The random delay after the marker, per moment (ms). */
const MOMENT_SPREAD: Record<Moment, number> = { loading: 2_500, setup: 300, preflight: 150, live: 1_500, undo: 40, teardown: 250 };

const PHASES = ['Preflight', 'Setup', 'Steady state before', 'Method', 'Steady state after', 'Rollbacks', 'Teardown'];
/** The guardian loads the drivers first: on a machine this busy that can take many seconds. */
const GUARDIAN_GRACE_MS = 45_000;
const EXIT_LIMIT_MS = 90_000;

function lastPhase(output: string): string {
  let found = 'loading';
  let at = -1;
  for (const phase of PHASES) {
    const index = output.lastIndexOf(`${phase}`);
    if (index > at) [found, at] = [phase, index];
  }
  if (/undo /.test(output.slice(Math.max(0, at)))) found += ' (undoing)';
  return found;
}

/** A small seeded generator, so a campaign can be replayed (TORTURE_SEED). */
function random(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
}

async function runCase(driver: DriverName, plan: SignalPlan, moment: Moment, delayMs: number, holdMs: number, port: number, servers: Servers): Promise<CaseResult> {
  const dir = await mkdtemp(join(tmpdir(), 'faultline-torture-'));
  const scenario = await createScenario(driver, { dir, holdMs, withSteps: true, port }, servers);
  const ledgerArgs = ['--ledger-dir', join(dir, 'ledger')];
  const env = servers.dockerHost ? { DOCKER_HOST: servers.dockerHost } : {};
  const result: CaseResult = { driver, plan, moment, delayMs, phase: 'loading', code: null, leftBehind: [], afterRecover: [], problems: [] };
  try {
    const run = startRun(['run', scenario.file, ...ledgerArgs, '--journal', join(dir, 'journal.json')], env, dir);
    let exited = false;
    void run.exited.then(() => {
      exited = true;
    });
    // Wait for the moment's marker in the run's output (bounded), then a random part of that phase.
    const marker = MOMENTS[moment];
    if (marker) await pollUntil(async () => exited || run.output().includes(marker), EXIT_LIMIT_MS, 5);
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    result.phase = exited ? 'finished' : `${moment}: ${lastPhase(run.output())}`;
    if (!exited) {
      run.child.kill(plan === 'SIGINT×2' ? 'SIGINT' : plan);
      if (plan === 'SIGINT×2') {
        await new Promise((resolve) => setTimeout(resolve, 30 + Math.random() * 300));
        run.child.kill('SIGINT');
      }
    }
    const exit = await Promise.race([run.exited, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), EXIT_LIMIT_MS).unref())]);
    if (!exit) {
      result.problems.push(`did not exit within ${EXIT_LIMIT_MS / 1000} s`);
      run.child.kill('SIGKILL');
      await run.exited;
    }
    result.code = exit?.code ?? null;
    const journal = await readFile(join(dir, 'journal.json'), 'utf8').then((t) => JSON.parse(t) as { status: string }, () => undefined);
    result.status = journal?.status;
    const output = run.output();
    if (/internal error|unhandled|Unhandled/.test(output)) result.problems.push(`crash: ${output.slice(-400)}`);
    // The exit code and the journal must agree when a journal was written.
    // A second SIGINT abandons the run at once: the process may die by that signal (no exit code)
    // after its journal said `interrupted`; the guardian then undoes what was left.
    const diedBySecondSigint = plan === 'SIGINT×2' && result.code === null && exit?.signal === 'SIGINT';
    if (journal && result.code === 130 && journal.status !== 'interrupted') result.problems.push(`exit 130 but the journal says ${journal.status}`);
    if (journal && journal.status === 'interrupted' && result.code !== 130 && !diedBySecondSigint) result.problems.push(`journal interrupted but exit ${result.code}`);
    // A run that exited on its own terms (not killed, not the double signal) wrote a journal.
    // A signal during node's own boot, before any of faultline's code ran, takes the default action:
    // nothing was loaded or applied. Anything later must end with a journal or exit 130.
    const beforeAnyCode = result.code === null && exit?.signal !== null && output === '' && moment === 'loading';
    if (beforeAnyCode) result.phase = 'loading: node boot';
    if (!journal && plan !== 'SIGKILL' && plan !== 'SIGINT×2' && result.code !== 130 && !beforeAnyCode) result.problems.push(`exit ${result.code} and no journal: ${output.slice(-300)}`);
    const abandoned = plan === 'SIGKILL' || plan === 'SIGINT×2';
    if (abandoned) await pollUntil(async () => (await scenario.leftovers()).length === 0, GUARDIAN_GRACE_MS, 50);
    result.leftBehind = await scenario.leftovers();
    // `recover` only when something is left to it (it costs a CLI start): on the server, or open in the ledger.
    const ledger = new Ledger(join(dir, 'ledger'));
    const open = await ledger.openEntries().catch(() => []);
    result.ledgerOpen = open.length;
    if (result.leftBehind.length > 0 || open.length > 0) {
      const recover = startRun(['recover', ...ledgerArgs], env, dir);
      await recover.exited;
    }
    result.afterRecover = await scenario.leftovers();
  } catch (error) {
    result.problems.push(`campaign error: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await scenario.dispose();
    // A guardian that outlived the run may still be writing its log there: a folder left in /tmp is harmless.
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
  return result;
}

export interface TortureOptions {
  runs: number;
  concurrency: number;
  seed: number;
  /** Called with each result as it comes. */
  onResult?: (result: CaseResult, index: number) => void;
  /** First port of a range of `concurrency` ports for Toxiproxy listeners. */
  basePort: number;
}

export async function torture(options: TortureOptions): Promise<{ drivers: DriverName[]; results: CaseResult[] }> {
  const { servers, drivers } = await availableServers();
  const next = random(options.seed);
  const cases = Array.from({ length: options.runs }, (_, i) => {
    const holdMs = 400 + Math.round(next() * 1200);
    const moments = Object.keys(MOMENTS) as Moment[];
    const moment = moments[Math.floor(next() * moments.length)]!;
    return { driver: drivers[i % drivers.length]!, plan: SIGNAL_PLANS[Math.floor(next() * SIGNAL_PLANS.length)]!, moment, delayMs: Math.round(next() * MOMENT_SPREAD[moment]), holdMs };
  });
  const results: CaseResult[] = [];
  let cursor = 0;
  await Promise.all(
    Array.from({ length: options.concurrency }, async (_, slot) => {
      while (cursor < cases.length) {
        const index = cursor++;
        const c = cases[index]!;
        const result = await runCase(c.driver, c.plan, c.moment, c.delayMs, c.holdMs, options.basePort + slot, servers);
        results[index] = result;
        options.onResult?.(result, index);
      }
    }),
  );
  return { drivers, results };
}

export function summarize(results: CaseResult[]): string {
  const lines: string[] = [];
  const key = (r: CaseResult) => `${r.driver} ${r.plan}`;
  const groups = new Map<string, CaseResult[]>();
  for (const r of results) groups.set(key(r), [...(groups.get(key(r)) ?? []), r]);
  lines.push('driver     signal     runs  interrupted  left-behind  after-recover  problems');
  for (const [name, group] of [...groups.entries()].sort()) {
    const [driver, plan] = name.split(' ');
    const interrupted = group.filter((r) => r.phase !== 'finished').length;
    lines.push(
      `${driver!.padEnd(10)} ${plan!.padEnd(10)} ${String(group.length).padStart(4)}  ${String(interrupted).padStart(11)}  ${String(group.filter((r) => r.leftBehind.length > 0).length).padStart(11)}  ${String(group.filter((r) => r.afterRecover.length > 0).length).padStart(13)}  ${String(group.filter((r) => r.problems.length > 0).length).padStart(8)}`,
    );
  }
  const phases = new Map<string, number>();
  for (const r of results) phases.set(r.phase === 'finished' ? 'finished first' : r.moment, (phases.get(r.phase === 'finished' ? 'finished first' : r.moment) ?? 0) + 1);
  lines.push(`signals sent at: ${[...phases.entries()].sort((a, b) => b[1] - a[1]).map(([p, n]) => `${p} ${n}`).join(', ')}`);
  const codes = new Map<string, number>();
  for (const r of results) codes.set(String(r.code), (codes.get(String(r.code)) ?? 0) + 1);
  lines.push(`exit codes: ${[...codes.entries()].map(([c, n]) => `${c}: ${n}`).join(', ')}`);
  const left = results.filter((r) => r.leftBehind.length > 0);
  lines.push(`runs: ${results.length}; faults left behind after the run (and guardian): ${left.length}; after recover: ${results.filter((r) => r.afterRecover.length > 0).length}; problems: ${results.filter((r) => r.problems.length > 0).length}`);
  for (const r of [...left, ...results.filter((x) => x.problems.length > 0)]) lines.push(`  ${r.driver} ${r.plan} at ${r.delayMs} ms (${r.phase}): ${[...r.leftBehind, ...r.problems].join('; ')}`);
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const runs = Number(process.argv[2] ?? 300);
  const concurrency = Number(process.argv[3] ?? 3);
  const seed = Number(process.env.TORTURE_SEED ?? Date.now() % 2 ** 31);
  console.log(`torture: ${runs} runs, ${concurrency} at a time, seed ${seed} (TORTURE_SEED=${seed} replays it)`);
  const started = Date.now();
  const { drivers, results } = await torture({
    runs,
    concurrency,
    seed,
    basePort: 21320,
    onResult: (r, i) =>
      console.log(
        `${String(i + 1).padStart(4)} ${r.driver.padEnd(9)} ${r.plan.padEnd(8)} +${String(r.delayMs).padStart(4)} ms ${r.phase.padEnd(34)} exit ${String(r.code).padEnd(4)} ${(r.status ?? '-').padEnd(20)} ${r.leftBehind.length ? `LEFT: ${r.leftBehind.join(', ')}` : 'clean'}${r.ledgerOpen ? ` (${r.ledgerOpen} open in the ledger)` : ''}${r.problems.length ? ` PROBLEM: ${r.problems.join('; ').slice(0, 300)}` : ''}`,
      ),
  });
  console.log(`\ndrivers: ${drivers.join(', ')}; ${((Date.now() - started) / 60_000).toFixed(1)} min`);
  console.log(summarize(results));
  process.exitCode = results.some((r) => r.leftBehind.length > 0 || r.afterRecover.length > 0 || r.problems.length > 0) ? 1 : 0;
}
