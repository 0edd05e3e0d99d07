// The Kubernetes client library (through node-fetch 2 and whatwg-url) requires `punycode` and calls
// `url.parse()`; on Node 22 and 24 each prints a DeprecationWarning to the user's terminal on every
// command that loads it, about code that is neither faultline's nor theirs. Those two, and only
// those two, are dropped; every other warning is emitted as before. Installed by the CLI, not by the
// library: a program that embeds faultline keeps its own warnings.
const QUIETED = new Set(['DEP0040', 'DEP0169']);

type EmitWarning = typeof process.emitWarning;

/** The warning's code, from either form of process.emitWarning's arguments. */
function codeOf(args: unknown[]): string | undefined {
  const [warning, second, third] = args;
  if (warning instanceof Error && 'code' in warning) return String((warning as NodeJS.ErrnoException).code);
  if (second && typeof second === 'object' && 'code' in second) return String((second as { code?: unknown }).code);
  return typeof third === 'string' ? third : undefined;
}

const MARK = Symbol.for('faultline.quietLibraryDeprecations');

/** Wraps target.emitWarning once (calling it again, as main() in tests does, changes nothing). */
export function quietLibraryDeprecations(target: { emitWarning: EmitWarning } = process): () => void {
  const original = target.emitWarning;
  if ((original as unknown as Record<symbol, boolean>)[MARK]) return () => undefined;
  const filtered = function (this: unknown, ...args: unknown[]): void {
    const code = codeOf(args);
    if (code !== undefined && QUIETED.has(code)) return;
    (original as (...a: unknown[]) => void).apply(this, args);
  } as EmitWarning;
  (filtered as unknown as Record<symbol, boolean>)[MARK] = true;
  target.emitWarning = filtered;
  return () => {
    if (target.emitWarning === filtered) target.emitWarning = original;
  };
}
