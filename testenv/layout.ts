// Where the test environment keeps things: per-checkout state (.testenv/) and the
// per-user, versioned cache of built binaries that survives `down` and new clones.
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Per-checkout state: env file, logs, pidfiles, certificates, etcd data. Git-ignored. */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.FAULTLINE_TESTENV_STATE ? resolve(env.FAULTLINE_TESTENV_STATE) : join(REPO_ROOT, '.testenv');
}

/** Per-user cache of built binaries, one folder per component and version. */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), '.cache');
  return join(base, 'faultline-testenv');
}

export function componentCacheDir(component: string, version: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheDir(env), `${component}-${version}`);
}

export function logPath(name: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(stateDir(env), 'logs', `${name}.log`);
}

export function envFilePath(env: NodeJS.ProcessEnv = process.env): string {
  return join(stateDir(env), 'env');
}

/** Label carried by everything tests create; `down` removes what carries it. */
export const TEST_LABEL_KEY = 'faultline.test';
export const TEST_LABEL_VALUE = 'true';
