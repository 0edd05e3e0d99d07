import { describe, expect, it } from 'vitest';
import { MAX_DURATION_MS, durationSchema, formatDuration, parseDuration } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['2s', 2000],
    ['1.5s', 1500],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
  ])('reads %s as %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', '10', 's', '5 sec', '-1s', '1d'])('refuses %j', (text) => expect(parseDuration(text)).toBeUndefined());
});

describe('durationSchema', () => {
  it('accepts numbers as milliseconds', () => expect(durationSchema.parse(1200)).toBe(1200));
  it('explains a bad duration', () => {
    const result = durationSchema.safeParse('fast');
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/expected a duration like 500ms/);
  });
});

describe('formatDuration', () => {
  it.each([
    [250, '250ms'],
    [2000, '2s'],
    [1500, '1.5s'],
    [90_000, '1m30s'],
    [5001, '5s'],
    [20_001, '20s'],
    [10_500, '10.5s'],
  ])('writes %d ms as %s', (ms, text) => expect(formatDuration(ms)).toBe(text));
});

describe('hostile durations', () => {
  it.each([[NaN], [Infinity], ['1s' as unknown as number], [undefined as unknown as number]])('formats %j without looping', (value) => {
    expect(typeof formatDuration(value)).toBe('string');
  });
  it('formats a huge finite number in minutes without recursing', () => expect(formatDuration(1e300)).toMatch(/^\d.*m/));
  it.each([`${'9'.repeat(400)}ms`, '1000000h', 2 ** 31, 1e300])('refuses %s as longer than Node timers wait', (value) => {
    const result = durationSchema.safeParse(value);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toMatch(/at most 596h/);
  });
  it('accepts the longest duration', () => expect(durationSchema.parse(`${MAX_DURATION_MS / 3_600_000}h`)).toBe(MAX_DURATION_MS));
});
