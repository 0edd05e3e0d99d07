// Which drivers an experiment uses and their parsed `targets.<driver>` blocks: read by the run (only
// those drivers' preflights and provisions run) and by the planner.
import type { DriverRegistry } from '../drivers/registry.js';
import type { LoadedExperiment } from '../experiment/load.js';
import { parseArgs } from './activity.js';

/** The drivers an experiment uses, so only their preflight checks run. */
export function driversUsed(loaded: LoadedExperiment, registry: DriverRegistry): Set<string> {
  const { experiment } = loaded;
  const names = new Set<string>(Object.keys(experiment.targets ?? {}));
  const add = (ref: string, kind: 'probe' | 'action') => names.add((kind === 'probe' ? registry.resolveProbe(ref) : registry.resolveAction(ref)).driver.name);
  for (const a of [...(experiment.setup ?? []), ...(experiment.teardown ?? [])]) 'probe' in a ? add(a.probe, 'probe') : add(a.action, 'action');
  for (const p of experiment.hypothesis?.probes ?? []) add(p.probe, 'probe');
  for (const s of experiment.method) s.probe !== undefined ? add(s.probe, 'probe') : add((s.fault ?? s.action)!, 'action');
  for (const r of experiment.rollbacks ?? []) add(r.action, 'action');
  for (const c of experiment.abort ?? []) if (c.probe !== undefined) add(c.probe, 'probe');
  // Verdicts read from Prometheus: its preflight refuses a run whose metrics could not be read.
  if (experiment.verdicts?.retries?.metric || experiment.verdicts?.['self-healing']?.metric) names.add('prometheus');
  return names;
}

/** Parses each driver's `targets.<name>` block with the driver's own schema. */
export function parseTargets(loaded: LoadedExperiment, registry: DriverRegistry): Map<string, unknown> {
  const targets = new Map<string, unknown>();
  for (const [name, raw] of Object.entries(loaded.experiment.targets ?? {})) {
    const driver = registry.get(name);
    targets.set(name, driver.target ? parseArgs(driver.target, raw, `targets.${name}`) : raw);
  }
  return targets;
}
