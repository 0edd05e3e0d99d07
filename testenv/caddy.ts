// Caddy for the tests: a third third-party reverse proxy the acceptance suite puts in front of backends
// reached through Toxiproxy (transport timeouts, load-balancer retries, passive health checks). Built
// from the pinned Go module into the versioned cache; only the binary is kept: each test starts its own
// Caddy in the foreground with a Caddyfile of its own, bound to 127.0.0.1, admin endpoint off.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { componentCacheDir, logPath } from './layout.js';
import { buildEnvForGo, requireGo } from './golang.js';
import { runCommand, runLoggedStep } from './processes.js';
import { NotBuiltError, TestEnvError } from './errors.js';
import type { UpContext } from './index.js';

export const CADDY_VERSION = '2.11.9';

/** Where `up` builds caddy: the versioned per-user cache. */
export function caddyBinaryPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(componentCacheDir('caddy', CADDY_VERSION, env), 'bin', 'caddy');
}

/** The cached caddy binary when it was built, or undefined. */
export function findCaddy(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const binary = caddyBinaryPath(env);
  return existsSync(binary) ? binary : undefined;
}

/** The Caddy module version the binary was built from, or undefined when it does not run. */
export async function caddyVersion(binary: string): Promise<string | undefined> {
  // `caddy version` says "unknown" for a `go install` build; the module line of build-info is exact.
  const result = await runCommand(binary, ['build-info']);
  return result.code === 0 ? /^mod\s+github\.com\/caddyserver\/caddy\/v2\s+(\S+)/m.exec(result.stdout)?.[1] : undefined;
}

/** The cached caddy, built with `go install` (niced: the machine is shared) when missing and allowed. */
export async function ensureCaddy({ log, env, allowBuilds }: UpContext): Promise<string> {
  const found = findCaddy(env);
  if (found) return found;
  if (!allowBuilds) throw new NotBuiltError(`caddy v${CADDY_VERSION}`);
  await requireGo(env);
  const binary = caddyBinaryPath(env);
  const logFile = logPath('caddy-build', env);
  log(`building caddy v${CADDY_VERSION} with go install (about 8 minutes cold, mostly module downloads; 2.5 CPU-minutes; log: ${logFile})`);
  await runLoggedStep(
    `go install caddy v${CADDY_VERSION}`,
    'nice',
    ['-n', '10', 'go', 'install', `github.com/caddyserver/caddy/v2/cmd/caddy@v${CADDY_VERSION}`],
    { logFile, env: { ...buildEnvForGo(env), GOBIN: dirname(binary) }, timeoutMs: 30 * 60_000 },
  );
  if (!existsSync(binary)) throw new TestEnvError(`go install finished but ${binary} is missing`, logFile);
  return binary;
}
