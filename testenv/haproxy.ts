// HAProxy for the tests: Debian's package, a second third-party load balancer the acceptance suite puts
// in front of backends reached through Toxiproxy (timeouts, redispatch, retries). Only the binary is
// used: tests start their own, in the foreground, with a config of their own on 127.0.0.1.
import { logPath } from './layout.js';
import { runCommand, runLoggedStep } from './processes.js';
import { NotBuiltError, TestEnvError } from './errors.js';
import type { UpContext } from './index.js';

/** The haproxy binary on PATH (Debian puts it in /usr/sbin), or undefined. */
export async function findHaproxy(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const path = [env.PATH, '/usr/sbin', '/usr/local/sbin'].filter(Boolean).join(':');
  const result = await runCommand('sh', ['-c', 'command -v haproxy'], { env: { ...env, PATH: path } });
  return result.code === 0 ? result.stdout.trim() : undefined;
}

/** Installs Debian's haproxy when it is missing; returns the binary. Idempotent: a second call finds it. */
export async function ensureHaproxy({ log, env, allowBuilds }: UpContext): Promise<string> {
  const found = await findHaproxy(env);
  if (found) return found;
  if (!allowBuilds) throw new NotBuiltError("Debian's haproxy");
  const logFile = logPath('haproxy-install', env);
  log(`installing Debian's haproxy (log: ${logFile})`);
  const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' };
  await runLoggedStep('apt-get update', 'apt-get', ['update'], { logFile, env: aptEnv, timeoutMs: 5 * 60_000 });
  await runLoggedStep('apt-get install haproxy', 'apt-get', ['install', '-y', '--no-install-recommends', 'haproxy'], { logFile, env: aptEnv, timeoutMs: 10 * 60_000 });
  const installed = await findHaproxy(env);
  if (!installed) throw new TestEnvError('apt-get installed haproxy, but no haproxy binary is on PATH or in /usr/sbin', logFile);
  return installed;
}
