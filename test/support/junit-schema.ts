// The JUnit schema for tests that validate JUnit output: skipped locally, with the reason, until
// `npm run testenv -- up` has fetched it; under CI=true fetched on the spot, and a failure fails.
import { existsSync, readFileSync } from 'node:fs';
import type { TestContext } from 'vitest';
import { ensureJunitSchema, junitSchemaPath } from '../../testenv/junit-schema.js';
import { isCI } from './testenv.js';

/** For tests that may fetch the schema under CI: pip prepares pytest's metadata, a minute or more with a cold pip cache. */
export const SCHEMA_TEST_TIMEOUT_MS = 300_000;

/** The text of junit-10.xsd, the schema Jenkins reads JUnit XML with. */
export async function requireJunitSchema(ctx: TestContext): Promise<string> {
  const path = junitSchemaPath();
  if (existsSync(path)) return readFileSync(path, 'utf8');
  if (isCI()) return readFileSync(await ensureJunitSchema((line) => process.stderr.write(`testenv: ${line}\n`)), 'utf8');
  const reason = `the JUnit schema is not fetched yet (${path}); run \`npm run testenv -- up\` once to fetch it`;
  process.stderr.write(`skipped "${ctx.task.name}": ${reason}\n`);
  ctx.skip(reason);
  throw new Error('unreachable: ctx.skip() throws');
}
