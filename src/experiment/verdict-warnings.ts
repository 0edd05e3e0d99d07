// Warnings before a run about faults that cannot make a traffic verdict pass: too weak to break its
// bound on a system without the mechanism (the same rules the verdicts apply, src/verdicts/strength.ts),
// or whose reach nothing but the traffic can confirm. `faultline validate` and `plan` print them and
// still exit 0: the experiment is valid, its verdict will say not-exercised.
import type { DriverRegistry } from '../drivers/registry.js';
import type { ActionDefinition, FaultEffect } from '../drivers/types.js';
import { failoverStrength, retriesStrength, timeoutsStrength, type FaultUnderTest } from '../verdicts/strength.js';
import type { StrengthFinding } from '../verdicts/types.js';
import type { Experiment } from './schema.js';
import type { DocumentIssue } from './validate.js';

const TRAFFIC_VERDICTS = ['timeouts', 'retries', 'failover'] as const;

function declaredEffect(entry: ActionDefinition, args: unknown): FaultEffect | undefined {
  // Arguments that read other steps' outputs are only known during the run.
  const parsed = entry.args.safeParse(args ?? {});
  if (!parsed.success || !entry.effect) return undefined;
  try {
    return entry.effect(parsed.data);
  } catch {
    return undefined;
  }
}

export function verdictWarnings(experiment: Experiment, registry: DriverRegistry): DocumentIssue[] {
  const warnings: DocumentIssue[] = [];
  const verdicts = experiment.verdicts ?? {};
  const unconfirmed = new Set<number>();
  for (const name of TRAFFIC_VERDICTS) {
    const spec = verdicts[name];
    if (!spec) continue;
    experiment.method.forEach((step, index) => {
      if (step.fault === undefined) return;
      if (spec.faults && (step.id === undefined || !spec.faults.includes(step.id))) return;
      let entry: ActionDefinition;
      try {
        entry = registry.resolveAction(step.fault).entry;
      } catch {
        return; // reported by the validation itself
      }
      const key = step.id ?? step.name ?? step.fault;
      const fault: FaultUnderTest = { key, effect: declaredEffect(entry, step.with), liveMs: step.duration };
      let finding: StrengthFinding;
      if (name === 'timeouts') finding = timeoutsStrength(fault, verdicts.timeouts!.latency);
      else if (name === 'retries') {
        // Judged from a Prometheus metric alone: the workload's error-rate bound does not apply.
        if (verdicts.retries!.errorRate === undefined) return;
        finding = retriesStrength(fault, verdicts.retries!.errorRate);
      } else finding = failoverStrength(fault, verdicts.failover!.successRate, verdicts.failover!.longestGap);
      if (finding.strong === false) {
        warnings.push({ path: ['method', index], message: `the ${name} verdict cannot pass on this fault: ${finding.summary}`, ...(finding.hint ? { hint: finding.hint } : {}) });
      }
      if (!entry.readReach && !unconfirmed.has(index)) {
        unconfirmed.add(index);
        warnings.push({
          path: ['method', index],
          message: `${step.fault} cannot tell whether ${key} reaches the workload's requests: the ${name} verdict passes only if the traffic shows it (a resilient system may hide it)`,
          hint: 'make the fault leave a trace in the traffic (a delay or share the mechanism cannot hide entirely), or use a driver that counts what crosses its target',
        });
      }
    });
  }
  return warnings;
}
