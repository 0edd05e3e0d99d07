// `faultline plan` and `run --dry-run`: the resolved timeline and what each fault would touch, computed
// with the drivers' prepare(), which by contract makes no mutating call.
import type { DriverRegistry } from '../drivers/registry.js';
import type { DriverOptionValues } from '../drivers/types.js';
import type { LoadedExperiment } from '../experiment/load.js';
import { driverContext, parseArgs, withDeadline, DEFAULT_ACTION_TIMEOUT_MS, type ActivityEnvironment } from './activity.js';
import { systemClock } from '../core/clock.js';
import { formatRatio } from '../core/ratio.js';
import { formatDuration } from '../core/duration.js';
import { errorMessage } from '../core/errors.js';
// Not from run.js: plan needs none of the runner (workload, ledger, fault lifecycle).
import { drawSeed } from './run-context.js';
import { parseTargets } from './targets.js';
import { plannedMethodLength, scheduleMethod, type ScheduledStep, type StepKind } from './timeline.js';

export interface PlannedStep {
  key: string;
  kind: StepKind;
  ref: string;
  name: string;
  startMs: number;
  endMs: number | undefined;
  /** What a fault or action would touch; empty when it can only be known at run time. */
  targets: string[];
  undo: string | null;
  note?: string;
  /** Starts once this step has finished (`after:`); startMs is then the earliest it can start. */
  after?: string;
}

export interface Plan {
  file: string;
  /** The traffic driven during the method, in words, when the experiment declares a workload. */
  workload?: string;
  /** The verdicts judged, each with the faults it reads. */
  verdicts: string[];
  /** The seed random selections were drawn with: `run --seed <n>` hits the same targets. */
  seed: number;
  title: string;
  setup: string[];
  hypothesis: string[];
  continuousEveryMs?: number;
  steps: PlannedStep[];
  methodLengthMs: number;
  abort: string[];
  rollbacks: string[];
  teardown: string[];
}

export async function planExperiment(
  loaded: LoadedExperiment,
  registry: DriverRegistry,
  context: { cwd: string; env: Readonly<Record<string, string | undefined>>; seed?: number; driverOptions?: ReadonlyMap<string, DriverOptionValues> },
): Promise<Plan> {
  const { experiment } = loaded;
  const seed = context.seed ?? experiment.settings?.seed ?? drawSeed();
  const schedule = withAfterSteps(scheduleMethod(experiment.method));
  const env: ActivityEnvironment = {
    registry,
    cwd: context.cwd,
    env: context.env,
    runId: 'plan',
    seed,
    clock: systemClock,
    targets: parseTargets(loaded, registry),
    outputs: new Map(),
    ...(context.driverOptions ? { driverOptions: context.driverOptions } : {}),
  };
  const steps: PlannedStep[] = [];
  for (const item of schedule) {
    const planned: PlannedStep = { key: item.key, kind: item.kind, ref: item.ref, name: item.name, startMs: item.startMs, endMs: item.endMs, targets: [], undo: null };
    if (item.step.after) planned.after = item.step.after;
    if (item.kind !== 'probe') {
      const { driver, entry } = registry.resolveAction(item.ref);
      if (JSON.stringify(item.step.with ?? {}).includes('${steps.')) {
        planned.note = 'targets depend on an earlier step and are resolved at run time';
      } else {
        try {
          const args = parseArgs(entry.args, item.step.with ?? {}, 'with');
          const prepared = await withDeadline((signal) => entry.prepare(args, driverContext(env, driver, signal, [])), DEFAULT_ACTION_TIMEOUT_MS, undefined, `planning ${item.name}`);
          planned.targets = prepared.targets;
          planned.undo = prepared.undo ? `${prepared.undo.driver}.${prepared.undo.op}` : null;
        } catch (error) {
          planned.note = `cannot resolve targets now: ${errorMessage(error)}`;
        }
      }
    }
    steps.push(planned);
  }
  const label = (a: { name?: string | undefined; probe?: string; action?: string }) => a.name ?? a.probe ?? a.action ?? '?';
  const { workload, verdicts } = experiment;
  return {
    file: loaded.file,
    ...(workload
      ? {
          workload: `${workload.rate !== undefined ? `${workload.rate} req/s (open model)` : `${workload.concurrency} users (closed model)`}${workload.replicas > 1 ? ` from ${workload.replicas} worker processes` : ''} → ${workload.method} ${workload.url}, from ${formatDuration(workload.before)} before the method to ${formatDuration(workload.after)} after`,
        }
      : {}),
    verdicts: Object.entries(verdicts ?? {}).map(([name, spec]) => `${name}${spec?.faults ? ` (${spec.faults.join(', ')})` : ''}`),
    seed,
    title: experiment.title,
    setup: (experiment.setup ?? []).map(label),
    hypothesis: (experiment.hypothesis?.probes ?? []).map(label),
    ...(experiment.hypothesis?.continuous ? { continuousEveryMs: experiment.hypothesis.continuous.every } : {}),
    steps,
    methodLengthMs: plannedMethodLength(schedule),
    abort: (experiment.abort ?? []).map((a) => a.name ?? (a.workload ? `workload error rate over ${formatRatio(a.workload.errorRate)} for ${formatDuration(a.workload.over)}` : label(a))),
    rollbacks: (experiment.rollbacks ?? []).map(label),
    teardown: (experiment.teardown ?? []).map(label),
  };
}

/** A step with `after` cannot start before the step it waits for: place it there (the earliest it can run). */
function withAfterSteps(schedule: ScheduledStep[]): ScheduledStep[] {
  const startOf = new Map<string, number>();
  // In declaration order: `after` names an earlier-declared step, so its start is known by then.
  const placed = [...schedule].sort((a, b) => a.index - b.index || a.repetition - b.repetition).map((item) => {
    const waitFor = item.step.after ? (startOf.get(item.step.after) ?? 0) : 0;
    const shift = Math.max(0, waitFor - item.startMs);
    const moved = shift > 0 ? { ...item, startMs: item.startMs + shift, endMs: item.endMs === undefined ? undefined : item.endMs + shift } : item;
    if (!startOf.has(item.id)) startOf.set(item.id, moved.startMs);
    return moved;
  });
  return placed.sort((a, b) => a.startMs - b.startMs || a.index - b.index);
}
