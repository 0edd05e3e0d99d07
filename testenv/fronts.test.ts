// The front the testenv builds for the acceptance suite is the pinned version: Caddy built from its Go
// module reports that module's version.
import { expect, it, type TestContext } from 'vitest';
import { isCI } from '../test/support/testenv.js';
import { caddyVersion, findCaddy, CADDY_VERSION } from './caddy.js';

function installed(ctx: TestContext, binary: string | undefined, what: string): string {
  if (binary) return binary;
  const message = `${what} is not installed: \`npm run testenv -- up\` installs it`;
  if (isCI()) throw new Error(message);
  ctx.skip(message);
  throw new Error('unreachable');
}

it('the cached caddy is the pinned version', async (ctx) => {
  expect(await caddyVersion(installed(ctx, findCaddy(), 'caddy'))).toBe(`v${CADDY_VERSION}`);
});

