import { describe, expect, it } from 'vitest';
import { ActiveFault, compileMatch, decide, describeCounts, globToRegExp, longRunShare, selects, shareDraw, type FaultSpec } from './rules.js';

const request = (method: string, url: string, headers: Record<string, string> = {}) => ({ method, url, headers });

function fault(id: string, over: Partial<FaultSpec> = {}): ActiveFault {
  return new ActiveFault({ id, salt: id, match: {}, select: { kind: 'all' }, do: { kind: 'status', status: 503 }, ...over }, 42);
}

describe('matching', () => {
  it('globs: * stays in a segment, ** crosses them, the query is left out', () => {
    expect(globToRegExp('/orders/*').test('/orders/17')).toBe(true);
    expect(globToRegExp('/orders/*').test('/orders/17/items')).toBe(false);
    expect(globToRegExp('/orders/**').test('/orders/17/items')).toBe(true);
    expect(globToRegExp('/a.b?').test('/a.bc')).toBe(true);
    expect(globToRegExp('/a.b').test('/aXb')).toBe(false);
    expect(compileMatch({ path: '/orders/*' })(request('GET', '/orders/1?x=/y'))).toBe(true);
  });

  it('method, regex and headers (exact or /regex/) must all hold', () => {
    const match = compileMatch({ methods: ['POST'], pathRegex: '^/api/', headers: { 'X-Tenant': 'blue', accept: '/json/' } });
    expect(match(request('POST', '/api/x', { 'x-tenant': 'blue', accept: 'application/json' }))).toBe(true);
    expect(match(request('GET', '/api/x', { 'x-tenant': 'blue', accept: 'application/json' }))).toBe(false);
    expect(match(request('POST', '/api/x', { 'x-tenant': 'bluer', accept: 'application/json' }))).toBe(false);
    expect(match(request('POST', '/api/x', { 'x-tenant': 'blue' }))).toBe(false);
    expect(match(request('POST', '/web', { 'x-tenant': 'blue', accept: 'json' }))).toBe(false);
  });
});

describe('selection', () => {
  const pattern = (select: Parameters<typeof selects>[0], n: number) => Array.from({ length: n }, (_, k) => (selects(select, k, 7, 'f') ? 'x' : '.')).join('');

  it('first N, every Nth, and N in a row then M passed', () => {
    expect(pattern({ kind: 'first', n: 2 }, 6)).toBe('xx....');
    expect(pattern({ kind: 'every', n: 3 }, 7)).toBe('..x..x.');
    expect(pattern({ kind: 'cycle', fail: 3, pass: 2 }, 10)).toBe('xxx..xxx..');
  });

  it('a share is drawn from the seed: the same seed picks the same requests, another seed others, near the share', () => {
    const picks = (seed: number) => Array.from({ length: 2000 }, (_, k) => shareDraw(seed, 'faultline-r-a', k) < 0.2);
    const a = picks(1);
    expect(picks(1)).toEqual(a);
    expect(picks(2)).not.toEqual(a);
    const share = a.filter(Boolean).length / a.length;
    expect(share).toBeGreaterThan(0.17);
    expect(share).toBeLessThan(0.23);
    expect(picks(1).slice(0, 50)).not.toEqual(Array.from({ length: 2000 }, (_, k) => shareDraw(1, 'faultline-r-b', k) < 0.2).slice(0, 50));
  });

  it('long-run shares', () => {
    expect(longRunShare({ kind: 'every', n: 4 })).toBe(0.25);
    expect(longRunShare({ kind: 'cycle', fail: 1, pass: 3 })).toBe(0.25);
    expect(longRunShare({ kind: 'first', n: 4 })).toBeUndefined();
  });
});

describe('counting and order', () => {
  it('counts every request it sees as faulted or passed, and matched ones apart', () => {
    const f = fault('f', { match: { methods: ['POST'] }, select: { kind: 'first', n: 2 } });
    const outcomes = ['POST', 'GET', 'POST', 'POST', 'GET'].map((m) => f.decide(request(m, '/')));
    expect(outcomes).toEqual([true, false, true, false, false]);
    expect(f.counts).toEqual({ seen: 5, matched: 3, faulted: 2, passed: 3 });
    const report = f.report();
    expect(report.perSecond).toEqual([[5, 2]]);
    expect(describeCounts(report.do, report)).toBe('503 to 2 of 5 requests');
  });

  it('faults are met in the order they were added: delays add up, the first terminal one ends the request and later ones do not see it', () => {
    const slow = fault('slow', { do: { kind: 'delay', delayMs: 100, jitterMs: 0, stage: 'response' } });
    const held = fault('held', { do: { kind: 'delay', delayMs: 50, jitterMs: 0, stage: 'first-byte' } });
    const fail = fault('fail', { select: { kind: 'every', n: 2 } });
    const reset = fault('reset', { do: { kind: 'abort', mode: 'reset' } });
    const thin = fault('thin', { do: { kind: 'throttle', bytesPerSecond: 1000 } });
    const faults = [slow, held, fail, reset, thin];
    const first = decide(faults, request('GET', '/'));
    expect(first).toEqual({ responseDelayMs: 100, firstByteDelayMs: 50, terminal: { kind: 'abort', mode: 'reset' } });
    const second = decide(faults, request('GET', '/'));
    expect(second?.terminal).toEqual({ kind: 'status', status: 503 });
    expect(fail.counts).toEqual({ seen: 2, matched: 2, faulted: 1, passed: 1 });
    expect(reset.counts).toEqual({ seen: 1, matched: 1, faulted: 1, passed: 0 });
    expect(thin.counts.seen).toBe(0);
    expect(decide([thin], request('GET', '/'))).toEqual({ responseDelayMs: 0, firstByteDelayMs: 0, throttle: 1000 });
    expect(decide([fault('none', { select: { kind: 'first', n: 0 } })], request('GET', '/'))).toBeUndefined();
  });
});
