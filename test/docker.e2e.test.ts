// The docker examples and the docker driver through the CLI, against the test environment's engine:
// each example passes; the kill example without a restart policy deviates; plan names the
// containers without touching them; an unreachable engine is refused before any fault; an undo
// whose container vanished says so in the ledger; recover undoes from a new process.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { uniqueName, useDockerFixture } from './support/docker.js';
import { requireDocker, TEST_LABELS } from './support/testenv.js';

const fixture = useDockerFixture();
const TEST_LABEL = Object.entries(TEST_LABELS).map(([key, value]) => `${key}=${value}`)[0]!;

interface Journal {
  status: string;
  methodStartedAt: string;
  faults: { status: string; scheduledAtMs: number; appliedAtMs: number; output: Record<string, unknown> }[];
  activities: { name: string; ref: string; status: string; output?: Record<string, unknown>; logs?: string[] }[];
  ledger: { state: string; notes?: string[] }[];
}

async function runExample(file: string, vars: Record<string, string> = {}, extra: string[] = []) {
  const { dockerHost, busyboxImage } = fixture.docker;
  const dir = await mkdtemp(join(tmpdir(), 'faultline-docker-'));
  const prefix = uniqueName('example');
  const journalPath = join(dir, 'journal.json');
  const args = ['run', file, '--var', `image=${busyboxImage}`, '--var', `prefix=${prefix}`, '--var', `label=${TEST_LABEL}`];
  for (const [key, value] of Object.entries(vars)) args.push('--var', `${key}=${value}`);
  const result = await runCli([...args, '--ledger-dir', join(dir, 'ledger'), '--journal', journalPath, ...extra], { env: { DOCKER_HOST: dockerHost } });
  const journal = JSON.parse(await readFile(journalPath, 'utf8')) as Journal;
  return { result, journal, prefix, dir };
}

/** Nothing the example created is left: teardown removed the containers and networks it made. */
async function expectNothingLeft(prefix: string) {
  const containers = await fixture.docker.client.listContainers({ all: true, filters: { name: [prefix] } });
  expect(containers.map((c) => c.Names[0])).toEqual([]);
  const networks = await fixture.docker.client.listNetworks({ filters: { name: [prefix] } });
  expect(networks.map((n) => n.Name)).toEqual([]);
}

const activity = (journal: Journal, ref: string) => journal.activities.find((a) => a.ref === ref && a.output !== undefined);

describe('docker examples', () => {
  it('docker-kill.yaml: the crashed service is healthy again by itself, and the run says how soon', async (t) => {
    await requireDocker(t);
    const { result, journal, prefix } = await runExample('experiments/docker-kill.yaml');
    expect(result.stdout).toMatch(/Result: PASSED/);
    expect(result.code).toBe(0);
    expect(journal.faults.map((f) => f.status)).toEqual(['irreversible']);
    const recovery = activity(journal, 'docker.recovery')!;
    expect(recovery.status).toBe('succeeded');
    expect(recovery.output).toMatchObject({ recovered: true, died: true, restartCount: 1 });
    expect(recovery.output!.recoveryMs).toBeGreaterThan(0);
    await expectNothingLeft(prefix);
  }, 90_000);

  it('docker-kill.yaml without a restart policy deviates: the service stays down', async (t) => {
    await requireDocker(t);
    const { result, journal, prefix } = await runExample('experiments/docker-kill.yaml', { restart: 'no' });
    expect(result.stdout).toMatch(/Result: DEVIATED/);
    expect(result.code).toBe(1);
    const recovery = activity(journal, 'docker.recovery')!;
    expect(recovery.status).toBe('missed');
    expect(recovery.output).toMatchObject({ recovered: false, recoveryMs: null, died: true, restartCount: 0 });
    await expectNothingLeft(prefix);
  }, 90_000);

  it('docker-partition.yaml: the client cannot reach the api while it is cut off, and can again after the undo', async (t) => {
    await requireDocker(t);
    const { result, journal, prefix } = await runExample('experiments/docker-partition.yaml');
    expect(result.stdout).toMatch(/Result: PASSED/);
    expect(result.code).toBe(0);
    expect(journal.faults.map((f) => f.status)).toEqual(['undone']);
    const undo = journal.activities.find((a) => a.name.startsWith('undo '))!;
    expect(undo.logs).toEqual([expect.stringMatching(/reconnected container .*-api .* with aliases api/)]);
    await expectNothingLeft(prefix);
  }, 90_000);

  it('docker-fill-disk.yaml: the health check fails while the disk is full, and passes after the undo removed the file', async (t) => {
    await requireDocker(t);
    const { result, journal, prefix } = await runExample('experiments/docker-fill-disk.yaml');
    expect(result.stdout).toMatch(/Result: PASSED/);
    expect(result.code).toBe(0);
    expect(journal.faults.map((f) => f.status)).toEqual(['undone']);
    const undo = journal.activities.find((a) => a.name.startsWith('undo '))!;
    expect(undo.logs).toEqual([expect.stringMatching(/removed \/data\/faultline-fill-.* from container/)]);
    await expectNothingLeft(prefix);
  }, 90_000);
});

describe('docker through the CLI', () => {
  async function experimentFile(text: string): Promise<{ dir: string; file: string }> {
    const dir = await mkdtemp(join(tmpdir(), 'faultline-docker-cli-'));
    const file = join(dir, 'experiment.yaml');
    await writeFile(file, text);
    return { dir, file };
  }

  it('plan shows the containers a fault would hit, and touches none of them', async (t) => {
    const { dockerHost, busyboxImage, client } = await requireDocker(t);
    const prefix = uniqueName('plan');
    const web = await fixture.containers.run({ name: `${prefix}-web`, Image: busyboxImage, Cmd: ['sleep', '3600'] });
    const before = (await web.inspect()).State;
    const text = await runCli(['plan', 'experiments/docker-kill.yaml', '--var', `prefix=${prefix}`], { env: { DOCKER_HOST: dockerHost } });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/fault +crash the web service.* container faultline-test-plan-/);
    const json = await runCli(['plan', '--json', 'experiments/docker-kill.yaml', '--var', `prefix=${prefix}`], { env: { DOCKER_HOST: dockerHost } });
    const plan = JSON.parse(json.stdout) as { steps: { targets: string[]; undo: string | null }[] };
    expect(plan.steps[0]).toMatchObject({ targets: [`container ${prefix}-web (${web.id.slice(0, 12)})`], undo: null });
    expect((await web.inspect()).State).toEqual(before);
    expect((await client.getContainer(web.id).inspect()).RestartCount).toBe(0);
  });

  it('an unreachable engine is refused in preflight, before any fault', async (t) => {
    await requireDocker(t);
    const { dir, file } = await experimentFile(`version: 1
title: unreachable engine
targets: { docker: { socketPath: /nonexistent/docker.sock } }
method:
  - fault: docker.pause
    with: { container: anything }
    duration: 1s
`);
    const result = await runCli(['run', file, '--ledger-dir', join(dir, 'ledger'), '--journal', join(dir, 'j.json')]);
    expect(result.code).toBe(4);
    expect(result.stdout + result.stderr).toMatch(/preflight of docker failed: the Docker engine at unix:\/\/\/nonexistent\/docker.sock is unreachable \(ENOENT\)/);
    const journal = JSON.parse(await readFile(join(dir, 'j.json'), 'utf8')) as Journal;
    expect(journal.faults).toEqual([]);
  });

  it('an undo whose container vanished succeeds, and the ledger records why', async (t) => {
    const { dockerHost, busyboxImage } = await requireDocker(t);
    const name = uniqueName('vanishing');
    await fixture.containers.run({ name, Image: busyboxImage, Cmd: ['sleep', '3600'] });
    const { dir, file } = await experimentFile(`version: 1
title: a container removed while paused
method:
  - fault: docker.pause
    with: { container: ${name} }
    duration: 2s
  - action: command
    at: 500ms
    with: { run: [docker, rm, --force, ${name}] }
`);
    const result = await runCli(['run', file, '--ledger-dir', join(dir, 'ledger'), '--journal', join(dir, 'j.json')], { env: { DOCKER_HOST: dockerHost } });
    expect(result.code).toBe(0);
    const journal = JSON.parse(await readFile(join(dir, 'j.json'), 'utf8')) as Journal;
    expect(journal.ledger).toEqual([expect.objectContaining({ state: 'undone', notes: [expect.stringMatching(new RegExp(`container ${name} .* no longer exists \\(removed before the undo\\); nothing to unpause`))] })]);
  });

  it('recover undoes a kept docker fault from a new process, with the engine the ledger names', async (t) => {
    const { dockerHost, busyboxImage } = await requireDocker(t);
    const name = uniqueName('kept');
    const container = await fixture.containers.run({ name, Image: busyboxImage, Cmd: ['sleep', '3600'] });
    const { dir, file } = await experimentFile(`version: 1
title: a pause kept for recover
method:
  - fault: docker.pause
    with: { container: ${name} }
    duration: 500ms
`);
    const ledgerDir = join(dir, 'ledger');
    const run = await runCli(['run', file, '--keep-faults', '--ledger-dir', ledgerDir, '--journal', join(dir, 'j.json')], { env: { DOCKER_HOST: dockerHost } });
    expect(run.code).toBe(0);
    expect((await container.inspect()).State.Paused).toBe(true);
    // DOCKER_HOST points nowhere: the undo must use the engine written in the ledger.
    const recover = await runCli(['recover', '--ledger-dir', ledgerDir], { env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
    expect(recover.stdout).toMatch(/✔ undone docker.pause/);
    expect(recover.code).toBe(0);
    expect((await container.inspect()).State.Paused).toBe(false);
  });
});
