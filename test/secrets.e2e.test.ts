// Secrets stay secret and undos stay recoverable: the ledger holds `${secrets.<name>}` with its source,
// `recover` after kill -9 resolves it and undoes with the real value (or says how to provide it), and
// no output of a run (ledger, journal, reports, terminal) holds a secret's value.
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { describe, expect, it } from 'vitest';
import { runCli, startCli, waitFor } from './support/cli.js';
import { uniqueName, useDockerFixture } from './support/docker.js';
import { requireDocker } from './support/testenv.js';

const fixture = useDockerFixture();
const SECRET = 'tok-9f2c-VERY-secret';

async function readInContainer(container: Docker.Container, path: string): Promise<string> {
  const exec = await container.exec({ Cmd: ['cat', path], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve) => {
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve());
  });
  // The multiplexed stream puts an 8-byte header before each frame.
  return Buffer.concat(chunks).toString('utf8').replace(/[\x00-\x08]/g, '').replace(/^[^\w-]+/, '').trim();
}

async function allFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) if (entry.isFile()) found.push(join(entry.parentPath, entry.name));
  return found;
}

describe('secrets in the ledger', () => {
  it('a secret-bearing undo is recovered after kill -9, and recover says how to provide a secret it cannot read', async (t) => {
    const { dockerHost, busyboxImage } = await requireDocker(t);
    const name = uniqueName('secret');
    const container = await fixture.containers.run({ name, Image: busyboxImage, Cmd: ['sleep', '3600'] });
    const dir = await mkdtemp(join(tmpdir(), 'faultline-secrets-'));
    const file = join(dir, 'experiment.yaml');
    await writeFile(
      file,
      `version: 1
title: a fault whose undo needs a secret
secrets: { tok: { env: FL_TEST_TOKEN } }
method:
  - name: mark the container
    fault: docker.exec
    with:
      container: ${name}
      command: [sh, -c, "echo applied-\${secrets.tok} > /tmp/state"]
      undo: [sh, -c, "echo undone-\${secrets.tok} > /tmp/state"]
    duration: 60s
`,
    );
    const ledgerDir = join(dir, 'ledger');
    const env = { DOCKER_HOST: dockerHost, FL_TEST_TOKEN: SECRET };
    const run = startCli(['run', file, '--ledger-dir', ledgerDir, '--journal', join(dir, 'journal.json'), '--no-guardian'], { env });
    await waitFor('the fault to be applied', async () => (await readFile(join(ledgerDir, 'ledger.jsonl'), 'utf8').catch(() => '')).includes('"applied"'), 30_000);
    run.child.kill('SIGKILL');
    await run.done;
    expect(await readInContainer(container, '/tmp/state')).toBe(`applied-${SECRET}`);

    const ledger = await readFile(join(ledgerDir, 'ledger.jsonl'), 'utf8');
    expect(ledger).not.toContain(SECRET);
    expect(ledger).not.toContain('***');
    expect(ledger).toContain('undone-${secrets.tok}');
    expect(ledger).toContain('"secrets":{"tok":{"env":"FL_TEST_TOKEN"}}');

    const missing = await runCli(['recover', '--ledger-dir', ledgerDir], { env: { DOCKER_HOST: dockerHost, FL_TEST_TOKEN: undefined as unknown as string } });
    expect(missing.code).toBe(2);
    expect(missing.stdout).toContain('secret "tok"');
    expect(missing.stdout).toMatch(/hint: .*FL_TEST_TOKEN=/);
    expect(await readInContainer(container, '/tmp/state')).toBe(`applied-${SECRET}`);

    const recovered = await runCli(['recover', '--ledger-dir', ledgerDir], { env });
    expect(recovered.code).toBe(0);
    expect(await readInContainer(container, '/tmp/state')).toBe(`undone-${SECRET}`);
    expect(recovered.stdout + recovered.stderr + missing.stdout + missing.stderr).not.toContain(SECRET);
    expect(await readFile(join(ledgerDir, 'ledger.jsonl'), 'utf8').catch(() => '')).not.toContain(SECRET);
  });

  it('no ledger record, journal, report or terminal line of a run holds a secret, failed apply and failed undo included', async (t) => {
    const { dockerHost, busyboxImage } = await requireDocker(t);
    const name = uniqueName('secret-scan');
    await fixture.containers.run({ name, Image: busyboxImage, Cmd: ['sleep', '3600'] });
    const dir = await mkdtemp(join(tmpdir(), 'faultline-secrets-scan-'));
    const out = join(dir, 'out');
    const step = (title: string, command: string, undo: string) => `
  - name: ${title}
    fault: docker.exec
    with:
      container: ${name}
      command: [sh, -c, "${command}"]
      undo: [sh, -c, "${undo}"]
    duration: 1s`;
    const experiments = {
      // The undo fails, quoting the secret in its error.
      'undo-fails.yaml': step('undo that fails', 'echo on-\${secrets.tok}', 'echo undo-\${secrets.tok} >&2; exit 4'),
      // The apply fails, quoting the secret in its error (and so does its undo, which keeps its records in the ledger).
      'apply-fails.yaml': step('apply that fails', 'echo fail-\${secrets.tok} >&2; exit 3', 'echo off-\${secrets.tok} >&2; exit 5'),
    };
    for (const [fileName, method] of Object.entries(experiments)) {
      await writeFile(
        join(dir, fileName),
        `version: 1
title: secrets everywhere (${fileName})
secrets: { tok: { env: FL_TEST_TOKEN } }
setup:
  - action: command.run
    with: { run: [echo, "setup-\${secrets.tok}"] }
method:${method}
  - name: show the secret
    action: command.run
    with: { run: [echo, "method-\${secrets.tok}"] }
`,
      );
    }
    const result = await runCli(
      ['run', dir, '--ledger-dir', join(out, 'ledger'), '--journal', join(out, 'journals'), '--junit', join(out, 'junit.xml'), '--markdown', join(out, 'summary.md'), '--no-guardian', '--force'],
      { env: { DOCKER_HOST: dockerHost, FL_TEST_TOKEN: SECRET } },
    );
    expect(result.code).not.toBe(0);
    const files = await allFiles(out);
    expect(files.some((f) => f.endsWith('ledger.jsonl'))).toBe(true);
    expect(files.filter((f) => f.endsWith('.journal.json'))).toHaveLength(2);
    const ledger = await readFile(join(out, 'ledger', 'ledger.jsonl'), 'utf8');
    // The failed apply and the failed undo are in the ledger, with the reference where the secret was.
    expect(ledger).toMatch(/"apply-failed".*fail-\$\{secrets\.tok\}/);
    expect(ledger).toMatch(/"undo-failed".*undo-\$\{secrets\.tok\}/);
    for (const f of files) expect(await readFile(f, 'utf8'), f).not.toContain(SECRET);
    expect(result.stdout + result.stderr).not.toContain(SECRET);
    // The secret really went through: the commands ran with it (seen only as *** in the journal).
    expect(await readFile(join(out, 'journals', 'apply-fails.journal.json'), 'utf8')).toContain('fail-***');
  });
});
