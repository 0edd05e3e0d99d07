import { describe, expect, it } from 'vitest';
import { workloadSchema } from './schema.js';

const issues = (input: Record<string, unknown>) => {
  const result = workloadSchema.safeParse({ url: 'http://127.0.0.1:8080/', ...input });
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('workload.replicas', () => {
  it('defaults to 1: the run drives the traffic itself', () => {
    expect(workloadSchema.parse({ url: 'http://127.0.0.1:8080/', rate: 5 }).replicas).toBe(1);
    expect(issues({ rate: 0.5 })).toEqual([]);
  });

  it('is a whole number from 1 to 64', () => {
    expect(issues({ rate: 100, replicas: 0 })).toEqual([expect.stringMatching(/^replicas: /)]);
    expect(issues({ rate: 100, replicas: 65 })).toEqual([expect.stringMatching(/^replicas: /)]);
    expect(issues({ rate: 100, replicas: 2.5 })).toEqual([expect.stringMatching(/^replicas: /)]);
    expect(issues({ rate: 100, replicas: 64 })).toEqual([]);
  });

  it('needs at least one request per second, user and slot for each worker', () => {
    expect(issues({ rate: 3, replicas: 4 })).toEqual(['rate: rate 3 is less than replicas 4: each worker needs at least 1']);
    expect(issues({ concurrency: 2, replicas: 3 })).toEqual(['concurrency: concurrency 2 is less than replicas 3: each worker needs at least 1']);
    expect(issues({ rate: 100, maxInFlight: 2, replicas: 3 })).toEqual(['maxInFlight: maxInFlight 2 is less than replicas 3: each worker needs at least 1']);
    expect(issues({ rate: 4, replicas: 4 })).toEqual([]);
  });
});
