// `faultline kubernetes manifest` as users call it: the YAML it prints parses back into the objects,
// names are made valid, and bad flags or an experiment the pod could not run are invalid input (2).
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { captureIo } from '../../test/support/io.js';
import { ExitCode } from '../core/exit-codes.js';
import { defaultObjectName } from './kubernetes.js';
import { main } from './main.js';

const repo = resolve(import.meta.dirname, '../..');

async function cli(args: string[]) {
  const { io, out } = captureIo(repo);
  const code = await main(['node', 'faultline', 'kubernetes', 'manifest', ...args], io);
  return { code, ...out };
}

describe('faultline kubernetes manifest', () => {
  it('prints YAML documents without aliases, named after the file', async () => {
    const result = await cli(['experiments/k8s-pod-kill.yaml', '--var', 'k8s.context=inClusterContext', '--schedule', '0 3 * * *']);
    expect(result.code, result.stderr).toBe(ExitCode.passed);
    expect(result.stdout).not.toMatch(/[&*]a\d/);
    const objects = parseAllDocuments(result.stdout).map((doc) => doc.toJS() as { kind: string; metadata: { name: string } });
    expect(objects.map((o) => o.kind)).toEqual(['ConfigMap', 'ServiceAccount', 'Role', 'RoleBinding', 'CronJob']);
    expect(new Set(objects.map((o) => o.metadata.name))).toEqual(new Set(['faultline-k8s-pod-kill']));
  });

  it('makes a valid object name of any file name', () => {
    expect(defaultObjectName('/x/My_Chaos.Test.yaml')).toBe('faultline-my-chaos-test');
    expect(defaultObjectName(`${'a'.repeat(80)}.yaml`)).toHaveLength(52);
  });

  it('bad flags and an experiment that cannot run in a pod are invalid input', async () => {
    const schedule = await cli(['experiments/k8s-pod-kill.yaml', '--var', 'k8s.context=inClusterContext', '--schedule', 'every night']);
    expect(schedule.code).toBe(ExitCode.invalidInput);
    expect(schedule.stderr).toContain('--schedule "every night": expected a cron schedule of five fields');
    const name = await cli(['experiments/k8s-pod-kill.yaml', '--var', 'k8s.context=inClusterContext', '--name', 'Chaos!', '--output-dir', 'out']);
    expect(name.code).toBe(ExitCode.invalidInput);
    expect(name.stderr).toContain('--name "Chaos!"');
    expect(name.stderr).toContain('--output-dir "out": expected an absolute path');
    const context = await cli(['experiments/k8s-pod-kill.yaml']);
    expect(context.code).toBe(ExitCode.invalidInput);
    expect(context.stderr).toContain('inClusterContext');
    expect(context.stdout).toBe('');
  });
});
