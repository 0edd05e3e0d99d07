import { describe, expect, it } from 'vitest';
import { quietLibraryDeprecations } from './deprecations.js';

describe('quietLibraryDeprecations', () => {
  it('drops DEP0040 and DEP0169 in every form emitWarning takes, and passes every other warning on', () => {
    const emitted: unknown[][] = [];
    const target = { emitWarning: ((...args: unknown[]) => void emitted.push(args)) as typeof process.emitWarning };
    const restore = quietLibraryDeprecations(target);
    quietLibraryDeprecations(target); // a second call wraps nothing more
    target.emitWarning('The `punycode` module is deprecated.', 'DeprecationWarning', 'DEP0040');
    target.emitWarning('`url.parse()` behavior is not standardized', { type: 'DeprecationWarning', code: 'DEP0169' });
    target.emitWarning(Object.assign(new Error('punycode'), { name: 'DeprecationWarning', code: 'DEP0040' }));
    target.emitWarning('something else', 'DeprecationWarning', 'DEP0999');
    target.emitWarning('a plain warning');
    expect(emitted.map((args) => args[0])).toEqual(['something else', 'a plain warning']);
    restore();
    target.emitWarning('again', 'DeprecationWarning', 'DEP0040');
    expect(emitted).toHaveLength(3);
  });
});
