// A workload worker started on its own rather than forked by a run: the form an indexed Kubernetes
// Job would run, one pod per index (`--index`, or the JOB_COMPLETION_INDEX Kubernetes sets). It reads a
// spec file (the whole workload, the number of workers, the wall-clock instant they all start at, how
// long they run, the fault windows as planned), drives its share from that instant and writes its
// windows and seconds, histograms encoded, to a file; mergeWorkerResults() (merge.ts) combines the
// files into the figures one run writes.
//
// What it cannot have without a run beside it: live window events (the windows are the plan's, so a
// fault applied late is off its window by the delay) and one monotonic clock (pods on several nodes
// share only the wall clock, as good as their NTP). It is the building block, not yet a run.
import { readFile } from 'node:fs/promises';
import { writeFileAtomically } from '../core/atomic-file.js';
import { workerShares, type WorkerShare } from './split.js';
import { WorkerSession } from './worker-session.js';
import type { FromWorker, WorkerWorkloadOptions } from './worker-protocol.js';

export interface StandaloneSpec {
  /** The whole workload: each worker takes its share (split.ts). */
  workload: WorkerWorkloadOptions;
  replicas: number;
  /** ISO time: the run's zero, when every worker starts. */
  startAt: string;
  durationMs: number;
  /** Fault windows as planned, in ms from startAt. */
  windows?: { key: string; name: string; atMs: number; endMs?: number }[];
}

export interface StandaloneResult {
  index: number;
  replicas: number;
  share: WorkerShare;
  startAt: string;
  /** How late this worker started after startAt (it was still loading): its first requests went out at once. */
  startedLateMs: number;
  /** Cut short by SIGTERM or SIGINT (the pod was deleted). */
  interrupted: boolean;
  result: Omit<Extract<FromWorker, { type: 'result' }>, 'type'>;
}

const USAGE = 'usage: worker.js --spec <file> --out <file> [--index N] (N defaults to $JOB_COMPLETION_INDEX)';

function fail(message: string): number {
  process.stderr.write(`faultline workload worker: ${message}\n${USAGE}\n`);
  return 2;
}

/** Runs one worker from `--spec` and writes `--out`; returns the exit code (2: bad input). */
export async function runStandalone(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<number> {
  const flag = (name: string) => {
    const at = argv.indexOf(name);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const specFile = flag('--spec');
  const out = flag('--out');
  const indexText = flag('--index') ?? env.JOB_COMPLETION_INDEX;
  if (!specFile || !out || indexText === undefined) return fail('--spec, --out and an index are required');
  let spec: StandaloneSpec;
  try {
    spec = JSON.parse(await readFile(specFile, 'utf8')) as StandaloneSpec;
  } catch (error) {
    return fail(`cannot read ${specFile}: ${error instanceof Error ? error.message : String(error)}`);
  }
  const index = Number(indexText);
  const startAtMs = Date.parse(spec.startAt);
  if (!Number.isInteger(spec.replicas) || spec.replicas < 1 || !Number.isInteger(index) || index < 0 || index >= spec.replicas) {
    return fail(`index ${indexText} is not one of 0..${Number(spec.replicas) - 1}`);
  }
  if (!Number.isFinite(startAtMs) || !(spec.durationMs > 0)) return fail('the spec needs startAt (an ISO time) and durationMs (> 0)');

  const share = workerShares(spec.workload, spec.replicas)[index]!;
  // startAt on this process's monotonic clock, read off the wall clock once.
  const origin = process.hrtime.bigint() + BigInt(Math.round((startAtMs - Date.now()) * 1e6));
  const session = new WorkerSession(origin, { ...spec.workload, rate: share.rate, concurrency: share.concurrency, maxInFlight: share.maxInFlight }, share.phaseMs);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, Math.max(0, ms));
      stop.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
    });
  const timers: NodeJS.Timeout[] = [];
  try {
    await sleep(-session.elapsed());
    const startedLateMs = Math.max(0, session.elapsed());
    session.start();
    for (const w of spec.windows ?? []) {
      timers.push(setTimeout(() => session.windowEvent({ type: 'fault-applied', key: w.key, name: w.name, atMs: w.atMs }), w.atMs - session.elapsed()));
      if (w.endMs !== undefined) timers.push(setTimeout(() => session.windowEvent({ type: 'fault-ended', key: w.key, atMs: w.endMs! }), w.endMs - session.elapsed()));
    }
    await sleep(spec.durationMs - session.elapsed());
    for (const timer of timers) clearTimeout(timer);
    await session.stop(stop.signal.aborted);
    const { type: _, ...result } = session.finish(session.elapsed());
    const written: StandaloneResult = { index, replicas: spec.replicas, share, startAt: spec.startAt, startedLateMs, interrupted: stop.signal.aborted, result };
    await writeFileAtomically(out, `${JSON.stringify(written)}\n`);
    return stop.signal.aborted ? 1 : 0;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
}
