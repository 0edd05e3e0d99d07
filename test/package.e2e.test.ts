// The package as users get it: `npm pack`, installed from the tarball into an empty folder, then
// `npx faultline` there, on this Node (20) and on Node 24 (the npm registry's `node` package,
// cached per version beside the test servers), so `engines` is proven, not only declared.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureNode24, NODE_24_VERSION as NODE_24 } from '../testenv/node24.js';
import { REPO_ROOT } from './support/cli.js';

const exec = promisify(execFile);

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeout?: number }): Promise<Ran> {
  try {
    const { stdout, stderr } = await exec(command, args, { cwd: options.cwd, env: options.env ?? process.env, timeout: options.timeout ?? 120_000, maxBuffer: 16 << 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number | string; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? String(error) };
  }
}

/** Node 24 from the npm registry's `node` package, installed once into the test cache. */
function node24Bin(): Promise<string> {
  return ensureNode24((line) => process.stderr.write(`package test: ${line}\n`));
}

const EXPERIMENT = `version: 1
title: a packaged faultline freezes and thaws a process
setup:
  - name: start a sleeper
    action: command
    with: { run: "sleep 30 & echo $! > sleeper.pid" }
method:
  - id: freeze
    name: freeze the sleeper
    fault: process.stop
    with: { pidfile: sleeper.pid }
    at: 0s
    duration: 300ms
teardown:
  - name: stop the sleeper
    action: command
    with: { run: "kill $(cat sleeper.pid)" }
`;

let work: string;
let project: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'faultline-package-'));
  // dist/ is built by `npm test` (and `npm run test:e2e`) before the tests run.
  const packed = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: REPO_ROOT });
  expect(packed.code, packed.stderr).toBe(0);
  const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
  project = join(work, 'user-project');
  await mkdir(project);
  await writeFile(join(project, 'package.json'), '{ "name": "user-project", "private": true }\n');
  const installed = await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', join(work, filename)], { cwd: project, timeout: 300_000 });
  expect(installed.code, installed.stderr).toBe(0);
}, 600_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe.each([
  ['this Node', async () => undefined],
  [`Node ${NODE_24}`, node24Bin],
])('the packed tarball, installed into an empty folder, on %s', (_name, nodeBin) => {
  let env: NodeJS.ProcessEnv;
  let folder: string;

  beforeAll(async () => {
    const bin = await nodeBin();
    env = { ...process.env, NO_COLOR: '1', PATH: bin ? `${bin}${delimiter}${process.env.PATH}` : process.env.PATH };
    folder = await mkdtemp(join(project, 'run-'));
  }, 600_000);

  const npx = (args: string[]) => run('npx', ['--no-install', 'faultline', ...args], { cwd: folder, env });

  it('answers --version with the package version, on the Node it is given', async () => {
    const version = JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')).version as string;
    const result = await npx(['--version']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe(version);
    const node = await run('node', ['--version'], { cwd: folder, env });
    expect(node.stdout.trim()).toBe(nodeBin === node24Bin ? `v${NODE_24}` : process.version);
  });

  it('writes a starter experiment with init, which validates', async () => {
    const init = await npx(['init', 'starter.yaml']);
    expect(init.code, init.stderr).toBe(0);
    const validated = await npx(['validate', 'starter.yaml']);
    expect(validated.code, validated.stderr).toBe(0);
  });

  it('runs a short process-driver experiment: the fault is applied and undone, exit 0', async () => {
    await writeFile(join(folder, 'freeze.yaml'), EXPERIMENT);
    const result = await npx(['run', 'freeze.yaml']);
    expect(result.code, `${result.stdout}\n${result.stderr}`).toBe(0);
    expect(result.stdout).toMatch(/freeze the sleeper .* undone/);
    expect(result.stdout).toMatch(/Result: PASSED/);
  });

  it('refuses a broken file with exit 2 and no stack trace', async () => {
    await writeFile(join(folder, 'broken.yaml'), 'version: 1\ntitel: typo\n');
    const result = await npx(['validate', 'broken.yaml']);
    expect(result.code).toBe(2);
    expect(result.stderr + result.stdout).toMatch(/broken\.yaml:2:1/);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
