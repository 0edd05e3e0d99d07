// Every example users copy must validate, and the committed JSON Schema must match the code.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli, REPO_ROOT } from './support/cli.js';

describe('experiments/', () => {
  it('every example validates', async () => {
    const files = (await readdir(join(REPO_ROOT, 'experiments'))).filter((f) => /\.(ya?ml|json)$/.test(f));
    expect(files.length).toBeGreaterThan(0);
    // notify-webhook.yaml reads its webhook URLs from secrets in the environment.
    const result = await runCli(['validate', 'experiments'], { env: { FAULTLINE_WEBHOOK_URL: 'http://127.0.0.1:9/hook', FAULTLINE_SLACK_WEBHOOK_URL: 'http://127.0.0.1:9/slack' } });
    // No example holds a fault too weak for its verdict; a driver that cannot count what crosses its
    // target is named (the verdict then needs the traffic to show the fault), and nothing else is said.
    const said = result.stderr.split('\n').filter((line) => line !== '' && !line.startsWith('    hint: '));
    expect(said.filter((line) => !/^warning: .* cannot tell whether \S+ reaches the workload's requests/.test(line))).toEqual([]);
    expect(result.code).toBe(0);
    for (const file of files) expect(result.stdout).toContain(file);
  });

  it('every example carries the schema modeline', async () => {
    for (const file of (await readdir(join(REPO_ROOT, 'experiments'))).filter((f) => /\.ya?ml$/.test(f))) {
      expect(await readFile(join(REPO_ROOT, 'experiments', file), 'utf8')).toMatch(/^# yaml-language-server: \$schema=\.\.\/schema\/experiment\.schema\.json/);
    }
  });

  it('schema/experiment.schema.json is what `faultline schema` prints', async () => {
    const result = await runCli(['schema']);
    const committed = await readFile(join(REPO_ROOT, 'schema', 'experiment.schema.json'), 'utf8');
    expect(JSON.parse(committed)).toEqual(JSON.parse(result.stdout));
  });
});
