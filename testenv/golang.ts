// The Go toolchain the environment builds its servers with: checked once, and run with
// the user's usual module and build caches so rebuilds and other checkouts share them.
import { TestEnvError } from './errors.js';
import { runCommand } from './processes.js';

export const MINIMUM_GO = [1, 26] as const;

let checkedGo: Promise<string> | undefined;

/** The `go version` line; throws with what to install when Go is missing or too old. */
export function requireGo(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  checkedGo ??= (async () => {
    const result = await runCommand('go', ['version'], { env });
    if (result.code !== 0) {
      throw new TestEnvError(`Go ${MINIMUM_GO.join('.')} or newer is needed to build the test servers, and \`go version\` failed: ${result.stderr.trim()}`);
    }
    const match = /go(\d+)\.(\d+)/.exec(result.stdout);
    const [major, minor] = [Number(match?.[1]), Number(match?.[2])];
    if (!match || major < MINIMUM_GO[0] || (major === MINIMUM_GO[0] && minor < MINIMUM_GO[1])) {
      throw new TestEnvError(`Go ${MINIMUM_GO.join('.')} or newer is needed to build the test servers; found: ${result.stdout.trim()}`);
    }
    return result.stdout.trim();
  })();
  return checkedGo;
}

export function buildEnvForGo(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  // GOTOOLCHAIN=local: a toolchain download would need a host outside the package registries.
  return { ...env, GOTOOLCHAIN: 'local' };
}
