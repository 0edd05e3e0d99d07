// A stable 32-bit string hash (FNV-1a) for mixing names into seeds: the same input gives the same draws
// in every process and every replay.

/** FNV-1a over the string's UTF-16 code units. */
export function fnv1a32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
