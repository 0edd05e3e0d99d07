/** A JSON object: not null and not a list (what JSON.parse gives for `{…}`). */
export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
