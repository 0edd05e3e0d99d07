// Chromium for the HTML report tests: Debian's package, driven by playwright-core pointed at the
// system binary (playwright's own browser download cannot reach its host from here). Not a server:
// tests launch it themselves with a new empty profile.
import { logPath } from './layout.js';
import { runCommand, runLoggedStep } from './processes.js';
import { NotBuiltError, TestEnvError } from './errors.js';
import type { UpContext } from './index.js';

const CANDIDATES = ['chromium', 'chromium-browser'];

/** The chromium binary on PATH (Debian puts it in /usr/bin), or undefined. */
export async function findChromium(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const path = [env.PATH, '/usr/bin', '/usr/local/bin'].filter(Boolean).join(':');
  for (const name of CANDIDATES) {
    const result = await runCommand('sh', ['-c', `command -v ${name}`], { env: { ...env, PATH: path } });
    if (result.code === 0 && result.stdout.trim()) return result.stdout.trim();
  }
  return undefined;
}

/** `Chromium 156.0.8078.114 built on Debian …` → `156.0.8078.114`. */
export async function chromiumVersion(binary: string): Promise<string | undefined> {
  const result = await runCommand(binary, ['--version']);
  return /(\d+\.\d+\.\d+\.\d+)/.exec(result.stdout)?.[1];
}

/** Installs Debian's chromium when it is missing; returns the binary. Idempotent: a second call finds it. */
export async function ensureChromium({ log, env, allowBuilds }: UpContext): Promise<string> {
  const found = await findChromium(env);
  if (found) return found;
  if (!allowBuilds) throw new NotBuiltError("Debian's chromium");
  const logFile = logPath('chromium-install', env);
  const started = Date.now();
  const seconds = () => `${((Date.now() - started) / 1000).toFixed(0)} s`;
  log(`installing Debian's chromium for the HTML report tests (about 100 MB; log: ${logFile})`);
  const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' };
  log('chromium: apt-get update');
  await runLoggedStep('apt-get update', 'apt-get', ['update'], { logFile, env: aptEnv, timeoutMs: 5 * 60_000 });
  log(`chromium: apt-get install -y chromium (${seconds()} so far)`);
  await runLoggedStep('apt-get install chromium', 'apt-get', ['install', '-y', '--no-install-recommends', 'chromium'], { logFile, env: aptEnv, timeoutMs: 15 * 60_000 });
  const installed = await findChromium(env);
  if (!installed) throw new TestEnvError('apt-get installed chromium, but no chromium binary is on PATH or in /usr/bin', logFile);
  log(`chromium installed in ${seconds()}: ${installed}`);
  return installed;
}
