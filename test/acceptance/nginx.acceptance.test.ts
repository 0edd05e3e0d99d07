// Acceptance: the nginx cases of cases.ts, each asserting its verdict on every repetition
// (FAULTLINE_ACCEPTANCE_REPEAT, default 1).
import { describe, expect, it } from 'vitest';
import { nginxCases } from './cases.js';
import { CASE_TIMEOUT_MS, runRepeated } from './harness.js';

describe('acceptance: nginx', () => {
  for (const { spec, expected } of nginxCases) {
    it(`${spec.title}: ${expected}`, async (ctx) => {
      const { results, lines } = await runRepeated(ctx, spec, expected);
      const wanted = results.map(() => (expected === 'not-pass' ? 'not pass' : expected));
      const seen = results.map((r) => (expected === 'not-pass' && r !== 'pass' ? 'not pass' : r));
      expect(seen, lines.join('\n')).toEqual(wanted);
    }, CASE_TIMEOUT_MS);
  }
});
