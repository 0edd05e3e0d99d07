// nginx for the tests: Debian's package, a third-party reverse proxy the Toxiproxy tests put in front
// of a backend to show that a faultline run tells timeouts that hold from timeouts that do not. Only
// the binary is used: tests start it themselves, as a child with its own prefix and config.
import { logPath } from './layout.js';
import { runCommand, runLoggedStep } from './processes.js';
import { NotBuiltError, TestEnvError } from './errors.js';
import type { UpContext } from './index.js';

/** The nginx binary on PATH (Debian puts it in /usr/sbin), or undefined. */
export async function findNginx(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const path = [env.PATH, '/usr/sbin', '/usr/local/sbin'].filter(Boolean).join(':');
  const result = await runCommand('sh', ['-c', 'command -v nginx'], { env: { ...env, PATH: path } });
  return result.code === 0 ? result.stdout.trim() : undefined;
}

/** Installs Debian's nginx when it is missing; returns the binary. Idempotent: a second call finds it. */
export async function ensureNginx({ log, env, allowBuilds }: UpContext): Promise<string> {
  const found = await findNginx(env);
  if (found) return found;
  if (!allowBuilds) throw new NotBuiltError("Debian's nginx");
  const logFile = logPath('nginx-install', env);
  log(`installing Debian's nginx (log: ${logFile})`);
  const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' };
  await runLoggedStep('apt-get update', 'apt-get', ['update'], { logFile, env: aptEnv, timeoutMs: 5 * 60_000 });
  await runLoggedStep('apt-get install nginx', 'apt-get', ['install', '-y', '--no-install-recommends', 'nginx'], { logFile, env: aptEnv, timeoutMs: 10 * 60_000 });
  const installed = await findNginx(env);
  if (!installed) throw new TestEnvError('apt-get installed nginx, but no nginx binary is on PATH or in /usr/sbin', logFile);
  return installed;
}
