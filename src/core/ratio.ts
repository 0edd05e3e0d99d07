// Shares as users write them ("2%", 0.02) and as reports print them back.
import { z } from 'zod';

/** A share as a percentage with as many decimals as it takes to not round 99.95% up to 100%. */
export function formatRatio(ratio: number | null): string {
  if (ratio === null) return '-';
  const digits = ratio > 0.999 && ratio < 1 ? 2 : ratio > 0 && ratio < 0.01 ? 2 : 1;
  return `${(ratio * 100).toFixed(digits).replace(/\.?0+$/, '')}%`;
}

/** A share written as "2%" or as a number from 0 to 1; formatRatio prints it back. */
export const ratioSchema = z
  .union([z.number().min(0).max(1), z.string()])
  .transform((value, ctx) => {
    if (typeof value === 'number') return value;
    const match = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value);
    if (!match || Number(match[1]) > 100) {
      ctx.addIssue({ code: 'custom', message: `expected a share like 2% or 0.02, got "${value}"` });
      return z.NEVER;
    }
    return Number(match[1]) / 100;
  })
  .meta({ description: 'A share: "2%" or a number from 0 to 1.' });
