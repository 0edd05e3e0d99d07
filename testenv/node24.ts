// A second Node for the tests: Node 24 from the npm registry's `node` package, installed once into the
// test cache. `npm test` runs the unit project on it, and the package test runs the packed CLI on it.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { componentCacheDir } from './layout.js';
import { runCommand } from './processes.js';
import { TestEnvError } from './errors.js';

export const NODE_24_VERSION = '24.21.0';

/** The folder holding Node 24's `node` (put it first on PATH), installing it the first time. */
export async function ensureNode24(log: (line: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const prefix = componentCacheDir('node', NODE_24_VERSION, env);
  const bin = join(prefix, 'node_modules', '.bin');
  if (existsSync(join(bin, 'node'))) return bin;
  mkdirSync(prefix, { recursive: true });
  log(`installing node@${NODE_24_VERSION} from the npm registry into ${prefix} (once; about 30 MB)`);
  const installed = await runCommand('npm', ['install', '--no-audit', '--no-fund', '--prefix', prefix, `node@${NODE_24_VERSION}`], { env, timeoutMs: 300_000, cwd: prefix });
  if (installed.code !== 0 || !existsSync(join(bin, 'node'))) {
    throw new TestEnvError(`npm install node@${NODE_24_VERSION} failed: ${installed.stderr.trim().split('\n').pop() ?? ''}`);
  }
  return bin;
}
