// Durations as users write them ("250ms", "2s", "1m30s", "1.5s") and as the engine uses them (milliseconds).
import { z } from 'zod';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_RE = /^(?:(\d+(?:\.\d+)?)(ms|s|m|h))+$/;
const PART_RE = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;

/** Parses "1m30s" into 90000; returns undefined when the text is not a duration. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (!DURATION_RE.test(trimmed)) return undefined;
  let total = 0;
  for (const match of trimmed.matchAll(PART_RE)) total += Number(match[1]) * UNIT_MS[match[2]!]!;
  return Math.round(total);
}

export function formatDuration(ms: number): string {
  // Never recurse or loop on what is not a finite number (a duration still given as text, NaN):
  // formatting is for messages, and a message must not hang the program.
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return String(ms);
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(2).replace(/\.?0+$/, '')}s`;
  // % is exact on doubles, so rest is below a minute whatever the size of ms.
  const rest = ms % 60_000;
  const minutes = Math.round((ms - rest) / 60_000);
  return rest === 0 ? `${minutes}m` : `${minutes}m${formatDuration(rest)}`;
}

/**
 * The longest duration faultline accepts: 596 hours, just under the 2^31 - 1 ms that Node's timers
 * can wait (a longer setTimeout fires at once, which would end a fault or a wait immediately).
 */
export const MAX_DURATION_MS = 596 * 3_600_000;

/** Schema for a duration written as text ("500ms") or a number of milliseconds; yields milliseconds. */
export const durationSchema = z
  .union([z.number().nonnegative(), z.string()])
  .transform((value, ctx) => {
    const ms = typeof value === 'number' ? value : parseDuration(value);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `expected a duration like 500ms, 2s or 1m, got "${value}"` });
      return z.NEVER;
    }
    if (ms > MAX_DURATION_MS) {
      ctx.addIssue({ code: 'custom', message: `expected a duration of at most 596h (Node's timers wait no longer), got ${typeof value === 'number' ? value : `"${value}"`}` });
      return z.NEVER;
    }
    return ms;
  })
  .meta({ description: 'A duration: "250ms", "2s", "1m30s", or a number of milliseconds.' });
