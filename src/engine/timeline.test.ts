import { describe, expect, it } from 'vitest';
import { stepSchema } from '../experiment/schema.js';
import { plannedMethodLength, scheduleMethod } from './timeline.js';

const steps = (raw: unknown[]) => raw.map((s) => stepSchema.parse(s));

describe('scheduleMethod', () => {
  it('orders steps by start and expands repetitions', () => {
    const schedule = scheduleMethod(
      steps([
        { probe: 'http', at: '5s', id: 'check' },
        { fault: 'process.stop', at: '1s', duration: '2s', repeat: { every: '3s', times: 2 } },
      ]),
    );
    expect(schedule.map((s) => [s.key, s.startMs, s.endMs])).toEqual([
      ['step-2#1', 1000, 3000],
      ['step-2#2', 4000, 6000],
      ['check', 5000, undefined],
    ]);
    expect(plannedMethodLength(schedule)).toBe(6000);
  });

  it('shifts a step by its pause before', () => {
    const [only] = scheduleMethod(steps([{ action: 'command', at: '1s', pauses: { before: '500ms' } }]));
    expect(only?.startMs).toBe(1500);
  });
});
