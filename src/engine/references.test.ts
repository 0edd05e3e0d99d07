import { describe, expect, it } from 'vitest';
import { resolveStepReferences } from './references.js';

const outputs = new Map([['kill-a', { pid: 4242, target: { name: 'backend-a' } }]]);

describe('resolveStepReferences', () => {
  it('keeps the type of a whole reference', () => {
    expect(resolveStepReferences({ pid: '${steps.kill-a.output.pid}' }, outputs, 'x')).toEqual({ pid: 4242 });
  });
  it('interpolates inside text and nested fields', () => {
    expect(resolveStepReferences(['was ${steps.kill-a.output.target.name}'], outputs, 'x')).toEqual(['was backend-a']);
  });
  it('explains a missing step or field', () => {
    expect(() => resolveStepReferences('${steps.nope.output.pid}', outputs, 'rollbacks[0]')).toThrow(/rollbacks\[0\]: step "nope" has no output yet/);
    expect(() => resolveStepReferences('${steps.kill-a.output.port}', outputs, 'x')).toThrow(/has no field "port"/);
  });
  it('leaves other text alone', () => expect(resolveStepReferences('${vars.x} $5', outputs, 'x')).toBe('${vars.x} $5'));
  it('unescapes $${ beside a reference, as the loader left it, and allows spaces inside', () => {
    expect(resolveStepReferences('kill ${ steps.kill-a.output.pid } $${HOME}', outputs, 'x')).toBe('kill 4242 ${HOME}');
    expect(resolveStepReferences('$${steps.kill-a.output.pid}', outputs, 'x')).toBe('${steps.kill-a.output.pid}');
  });
});
