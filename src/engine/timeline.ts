// The method's timeline, pure: when each step (and each repetition of a repeated fault) starts and ends.
import type { Experiment, StepSpec } from '../experiment/schema.js';

export type StepKind = 'fault' | 'action' | 'probe';

export interface ScheduledStep {
  /** Unique per occurrence: the step's id, with `#n` for repetitions. */
  key: string;
  /** The step's id (declared or derived), shared by all its repetitions. */
  id: string;
  index: number;
  repetition: number;
  kind: StepKind;
  ref: string;
  name: string;
  step: StepSpec;
  /** Offset from the start of the method, in ms. */
  startMs: number;
  /** When a fault is undone; undefined means at the end of the method. */
  endMs: number | undefined;
}

export function stepKind(step: StepSpec): StepKind {
  if (step.fault !== undefined) return 'fault';
  if (step.action !== undefined) return 'action';
  return 'probe';
}

export function stepRef(step: StepSpec): string {
  return (step.fault ?? step.action ?? step.probe)!;
}

export function stepId(step: StepSpec, index: number): string {
  return step.id ?? `step-${index + 1}`;
}

export function stepName(step: StepSpec): string {
  return step.name ?? `${stepKind(step)} ${stepRef(step)}`;
}

export function scheduleMethod(method: Experiment['method']): ScheduledStep[] {
  const scheduled: ScheduledStep[] = [];
  method.forEach((step, index) => {
    const times = step.repeat?.times ?? 1;
    const id = stepId(step, index);
    for (let repetition = 0; repetition < times; repetition++) {
      const startMs = step.at + (step.pauses?.before ?? 0) + repetition * (step.repeat?.every ?? 0);
      scheduled.push({
        key: times > 1 ? `${id}#${repetition + 1}` : id,
        id,
        index,
        repetition,
        kind: stepKind(step),
        ref: stepRef(step),
        name: times > 1 ? `${stepName(step)} (${repetition + 1}/${times})` : stepName(step),
        step,
        startMs,
        endMs: step.duration === undefined ? undefined : startMs + step.duration,
      });
    }
  });
  return scheduled.sort((a, b) => a.startMs - b.startMs || a.index - b.index);
}

/** The method's planned length: until the last timed event (open-ended faults end then too). */
export function plannedMethodLength(schedule: ScheduledStep[]): number {
  let end = 0;
  for (const item of schedule) {
    end = Math.max(end, item.endMs ?? item.startMs, item.startMs + (item.step.pauses?.after ?? 0));
  }
  return end;
}
