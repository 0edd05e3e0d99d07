// Prometheus for the tests: Debian's package, the real server the prometheus driver queries. Only the
// binary is used: each test starts its own Prometheus on 127.0.0.1 with a scrape config it writes
// (see test/support/prometheus.ts), so no shared state leaks between tests.
import { logPath } from './layout.js';
import { runCommand, runLoggedStep } from './processes.js';
import { NotBuiltError, TestEnvError } from './errors.js';
import type { UpContext } from './index.js';

/** The prometheus binary on PATH (Debian puts it in /usr/bin), or undefined. */
export async function findPrometheus(env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  const path = [env.PATH, '/usr/bin', '/usr/sbin'].filter(Boolean).join(':');
  const result = await runCommand('sh', ['-c', 'command -v prometheus'], { env: { ...env, PATH: path } });
  return result.code === 0 ? result.stdout.trim() : undefined;
}

/** Installs Debian's prometheus when it is missing; returns the binary. Idempotent: a second call finds it. */
export async function ensurePrometheus({ log, env, allowBuilds }: UpContext): Promise<string> {
  const found = await findPrometheus(env);
  if (found) return found;
  if (!allowBuilds) throw new NotBuiltError("Debian's prometheus");
  const logFile = logPath('prometheus-install', env);
  log(`installing Debian's prometheus (log: ${logFile})`);
  // policy-rc.d is not touched: in a container without an init system the package starts no service,
  // and the tests never use one; they start their own servers.
  const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' };
  await runLoggedStep('apt-get update', 'apt-get', ['update'], { logFile, env: aptEnv, timeoutMs: 5 * 60_000 });
  await runLoggedStep('apt-get install prometheus', 'apt-get', ['install', '-y', '--no-install-recommends', 'prometheus'], { logFile, env: aptEnv, timeoutMs: 10 * 60_000 });
  const installed = await findPrometheus(env);
  if (!installed) throw new TestEnvError('apt-get installed prometheus, but no prometheus binary is on PATH or in /usr/bin', logFile);
  return installed;
}
