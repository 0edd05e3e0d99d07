// Byte sizes as users write them ("64MiB", "512m", "1.5GB") and as the engine takes them (bytes).
import { z } from 'zod';

const UNITS: Record<string, number> = {
  B: 1,
  k: 1024,
  m: 1024 ** 2,
  g: 1024 ** 3,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  KB: 1000,
  MB: 1000 ** 2,
  GB: 1000 ** 3,
};
const SIZE_RE = /^(\d+(?:\.\d+)?)\s*(B|k|m|g|KiB|MiB|GiB|KB|MB|GB)?$/;

/** Parses "64MiB" into 67108864; undefined when the text is not a size. A bare number is bytes. */
export function parseByteSize(text: string): number | undefined {
  const match = SIZE_RE.exec(text.trim());
  if (!match) return undefined;
  return Math.round(Number(match[1]) * UNITS[match[2] ?? 'B']!);
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 ** 3) return `${(bytes / 1024 ** 3).toFixed(2).replace(/\.?0+$/, '')}GiB`;
  if (bytes >= 1024 ** 2) return `${(bytes / 1024 ** 2).toFixed(2).replace(/\.?0+$/, '')}MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(2).replace(/\.?0+$/, '')}KiB`;
  return `${bytes}B`;
}

/** A size as text ("64MiB", "512m" as docker -m reads it, "1GB") or a number of bytes; yields bytes. */
export const byteSizeSchema = z
  .union([z.int().positive(), z.string()])
  .transform((value, ctx) => {
    const bytes = typeof value === 'number' ? value : parseByteSize(value);
    if (bytes === undefined || bytes <= 0) {
      ctx.addIssue({ code: 'custom', message: `expected a size like 64MiB, 512m or 1GB, got "${value}"` });
      return z.NEVER;
    }
    return bytes;
  })
  .meta({ description: 'A size: "64MiB", "512m" (as docker -m reads it: MiB), "1GB" (10^9), or a number of bytes.' });
