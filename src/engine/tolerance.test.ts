import { describe, expect, it } from 'vitest';
import { expectSchema } from '../experiment/schema.js';
import { checkExpectations } from './tolerance.js';

/** Expectations go through the real schema, so durations like "500ms" arrive as milliseconds as they do in a run. */
function check(output: Record<string, unknown>, expectations: unknown): string[] {
  return checkExpectations(output, expectSchema.parse(expectations)).map((m) => m.message);
}

describe('checkExpectations', () => {
  const response = {
    status: 503,
    latency: 1203,
    headers: { 'content-type': 'application/json', 'content-length': '42' },
    body: '{"status":"degraded","items":[{"id":7},{"id":9}]}',
    json: { status: 'degraded', items: [{ id: 7 }, { id: 9 }] },
  };

  it('passes when every tolerance holds', () => {
    expect(check(response, { status: 503, latency: { max: '2s' }, body: { contains: 'degraded' } })).toEqual([]);
  });

  it('reports an exact value as expected versus actual', () => {
    expect(check({ status: 503 }, { status: 200 })).toEqual(['status: expected 200, got 503']);
    const [missed] = checkExpectations({ status: 503 }, { status: 200 });
    expect(missed).toEqual({ field: 'status', expected: '200', actual: '503', message: 'status: expected 200, got 503' });
  });

  it('treats a number written as text as the same value', () => {
    expect(check({ status: 200 }, { status: '200' })).toEqual([]);
    expect(check({ 'content-length': '42' }, { 'content-length': 42 })).toEqual([]);
  });

  it('shows latency bounds as durations', () => {
    expect(check(response, { latency: { max: '500ms' } })).toEqual(['latency: expected at most 500ms, got 1203ms']);
    expect(check({ timeToRecoverMs: 95_000 }, { timeToRecoverMs: { max: '1m' } })).toEqual([
      'timeToRecoverMs: expected at most 1m, got 1m35s',
    ]);
  });

  it('checks ranges with both ends and with one', () => {
    expect(check(response, { status: { min: 200, max: 399 } })).toEqual(['status: expected between 200 and 399, got 503']);
    expect(check({ count: 3 }, { count: { min: 5 } })).toEqual(['count: expected at least 5, got 3']);
    expect(check({ count: 5 }, { count: { min: 5, max: 5 } })).toEqual([]);
    expect(check({ count: 'many' }, { count: { min: 1 } })).toEqual(['count: expected at least 1, got "many"']);
    expect(check(response, { 'headers.content-length': { max: 100 } })).toEqual([]);
  });

  it('says why a null status missed when the output carries an error', () => {
    expect(check({ status: null, error: 'connect ECONNREFUSED 127.0.0.1:9', latency: 2 }, { status: { min: 200, max: 399 } })).toEqual([
      'status: expected between 200 and 399, got null (connect ECONNREFUSED 127.0.0.1:9)',
    ]);
  });

  it('compares equals deeply and oneOf by any member', () => {
    expect(check(response, { json: { equals: response.json } })).toEqual([]);
    expect(check({ json: { a: [1, 2] } }, { json: { equals: { a: [1, 3] } } })).toEqual(['json: expected {"a":[1,3]}, got {"a":[1,2]}']);
    expect(check(response, { status: { oneOf: [200, 204] } })).toEqual(['status: expected one of 200, 204, got 503']);
    expect(check(response, { status: { oneOf: [200, 503] } })).toEqual([]);
  });

  it('matches a regex against the value as text', () => {
    expect(check(response, { body: { matches: '"status":"(ok|degraded)"' } })).toEqual([]);
    expect(check({ stdout: 'degraded\n' }, { stdout: { matches: '^ok' } })).toEqual(['stdout: expected to match /^ok/, got "degraded\\n"']);
    expect(check({ status: 503 }, { status: { matches: '^5\\d\\d$' } })).toEqual([]);
    expect(check({ stdout: 'x' }, { stdout: { matches: '(' } })[0]).toMatch(/^stdout: expected a valid regular expression, got \/\(\/ \(/);
  });

  it('checks contains on text and on lists', () => {
    expect(check({ stderr: 'fatal: boom' }, { stderr: { contains: 'warning' } })).toEqual([
      'stderr: expected to contain "warning", got "fatal: boom"',
    ]);
    expect(check({ tags: ['a', 'b'] }, { tags: { contains: 'b' } })).toEqual([]);
    expect(check({ tags: ['ab'] }, { tags: { contains: 'a' } })).toEqual(['tags: expected to contain "a", got ["ab"]']);
  });

  it('checks exists both ways, with undefined counting as absent', () => {
    expect(check({ error: undefined, status: 200 }, { error: { exists: false } })).toEqual([]);
    expect(check({ status: 200, error: 'boom' }, { error: { exists: false } })).toEqual(['error: expected no value, got "boom"']);
    expect(check({ status: 200 }, { status: { exists: true } })).toEqual([]);
  });

  it('applies checks to what a JSONPath selects, in parsed json or in a JSON body', () => {
    expect(check(response, { json: { path: '$.status', equals: 'ok' } })).toEqual(['json $.status: expected "ok", got "degraded"']);
    expect(check(response, { body: { path: '$.items[0].id', equals: 7 } })).toEqual([]);
    expect(check(response, { body: { path: '$.items[*].id', equals: [7, 9] } })).toEqual([]);
    expect(check(response, { json: { path: '$.items[?(@.id > 8)].id', equals: 9 } })).toEqual([]);
    expect(check(response, { json: { path: '$.missing', exists: false } })).toEqual([]);
    expect(check(response, { json: { path: '$.missing', equals: 1 } })).toEqual(['json $.missing: expected 1, got nothing']);
    expect(check({ body: 'not json' }, { body: { path: '$.a', exists: true } })).toEqual([
      'body $.a: expected a value at $.a, got text that is not JSON: "not json"',
    ]);
  });

  it('does not evaluate code in JSONPath filters', () => {
    const messages = check(response, { json: { path: '$.items[?(process.exit(7))]', exists: true } });
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain('invalid JSONPath');
  });

  it('reports a missing field with the fields the output has', () => {
    expect(check({ status: 200, latency: 3, error: undefined }, { statuz: 200 })).toEqual([
      'statuz: no such output field; the output has status, latency',
    ]);
    expect(check({ status: 200 }, { statuz: { exists: false } })).toEqual([]);
  });

  it('reports every miss, not only the first', () => {
    expect(check(response, { status: 200, latency: { max: 500 }, body: { contains: 'ok' } })).toHaveLength(3);
  });

  it('cuts long actual values short', () => {
    const [message] = check({ body: 'x'.repeat(5000) }, { body: { contains: 'y' } });
    expect(message!.length).toBeLessThan(400);
    expect(message).toContain('(5002 characters)');
  });
});

describe('a list that should be empty', () => {
  it('reads its items as sentences', () => {
    const misses = checkExpectations({ breaches: ['up{job="a"} = 0, expected = 1'] }, { breaches: { equals: [] } });
    expect(misses[0]!.message).toBe('breaches: expected none, got up{job="a"} = 0, expected = 1');
  });
});
