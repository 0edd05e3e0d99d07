// One vitest suite of acceptance cases, each asserting its verdict on every repetition
// (FAULTLINE_ACCEPTANCE_REPEAT, default 1). One test file per group, so vitest runs the groups side by side.
import { describe, expect, it } from 'vitest';
import type { AcceptanceCase } from './cases.js';
import { CASE_TIMEOUT_MS, runRepeated } from './harness.js';

export function describeAcceptance(name: string, cases: readonly AcceptanceCase[]): void {
  describe(`acceptance: ${name}`, () => {
    for (const { spec, expected } of cases) {
      it(`${spec.title}: ${expected}`, async (ctx) => {
        const { results, lines } = await runRepeated(ctx, spec, expected);
        const wanted = results.map(() => (expected === 'not-pass' ? 'not pass' : expected));
        const seen = results.map((r) => (expected === 'not-pass' && r !== 'pass' ? 'not pass' : r));
        expect(seen, lines.join('\n')).toEqual(wanted);
      }, CASE_TIMEOUT_MS);
    }
  });
}
