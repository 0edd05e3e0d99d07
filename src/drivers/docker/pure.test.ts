// The docker driver's pure parts: sizes, engine timestamps, DOCKER_HOST, the limit and restore
// updates, df parsing and the recovery tracker.
import { describe, expect, it } from 'vitest';
import { FaultlineError } from '../../core/errors.js';
import { DEFAULT_DOCKER_HOST, resolveDockerHost } from './connection.js';
import { engineTimestamp, type DockerEvent } from './events.js';
import { trackRecovery } from './probes.js';
import { limitUpdate, parseDf, restoreUpdates, UNLIMITED_MEMORY } from './resources.js';
import { byteSizeSchema, formatBytes, parseByteSize } from './size.js';

describe('byte sizes', () => {
  it('reads binary, decimal and docker-style units', () => {
    expect(parseByteSize('64MiB')).toBe(64 * 1024 ** 2);
    expect(parseByteSize('512m')).toBe(512 * 1024 ** 2);
    expect(parseByteSize('1.5GiB')).toBe(1.5 * 1024 ** 3);
    expect(parseByteSize('1GB')).toBe(1e9);
    expect(parseByteSize('4096')).toBe(4096);
    expect(parseByteSize('10 KiB')).toBe(10240);
    expect(parseByteSize('64 mb')).toBeUndefined();
    expect(parseByteSize('-1MiB')).toBeUndefined();
    expect(formatBytes(3 * 1024 ** 2)).toBe('3MiB');
    expect(byteSizeSchema.safeParse('lots').error?.issues[0]?.message).toMatch(/expected a size like 64MiB/);
  });
});

describe('engine timestamps', () => {
  it('writes nanoseconds in nine digits, as the engine parses since and until', () => {
    expect(engineTimestamp(1_700_000_000_123.5)).toBe('1700000000.123500000');
    expect(engineTimestamp(1_700_000_000_005)).toBe('1700000000.005000000');
    expect(engineTimestamp(1_700_000_000_000)).toBe('1700000000.000000000');
  });
});

describe('resolveDockerHost', () => {
  it('prefers targets.docker, then DOCKER_HOST, then the default socket', () => {
    expect(resolveDockerHost({ host: 'tcp://127.0.0.1:2375' }, { DOCKER_HOST: 'unix:///a.sock' })).toBe('tcp://127.0.0.1:2375');
    expect(resolveDockerHost({ socketPath: '/b.sock' }, { DOCKER_HOST: 'unix:///a.sock' })).toBe('unix:///b.sock');
    expect(resolveDockerHost(undefined, { DOCKER_HOST: 'unix:///a.sock' })).toBe('unix:///a.sock');
    expect(resolveDockerHost(undefined, {})).toBe(DEFAULT_DOCKER_HOST);
    expect(() => resolveDockerHost(undefined, { DOCKER_HOST: 'ssh://me@host' })).toThrow(FaultlineError);
  });
});

describe('limit and restore updates', () => {
  const unlimited = { nanoCpus: 0, cpuQuota: 0, cpuPeriod: 0, memory: 0, memorySwap: 0 };

  it('limits CPU in the form the container already uses', () => {
    expect(limitUpdate(unlimited, 0.5, undefined)).toEqual({ CpuPeriod: 100_000, CpuQuota: 50_000 });
    expect(limitUpdate({ ...unlimited, nanoCpus: 2e9 }, 0.5, undefined)).toEqual({ NanoCpus: 5e8 });
    expect(limitUpdate(unlimited, undefined, 64 * 1024 ** 2)).toEqual({ Memory: 64 * 1024 ** 2, MemorySwap: 64 * 1024 ** 2 });
  });

  it('restores "unlimited" with the values the engine accepts, and limits of its own exactly', () => {
    expect(restoreUpdates(unlimited, true, true)).toEqual([{ CpuQuota: -1, Memory: UNLIMITED_MEMORY, MemorySwap: UNLIMITED_MEMORY }]);
    expect(restoreUpdates({ nanoCpus: 15e8, cpuQuota: 0, cpuPeriod: 0, memory: 256, memorySwap: 512 }, true, true)).toEqual([{ NanoCpus: 15e8, Memory: 256, MemorySwap: 512 }]);
    expect(restoreUpdates({ ...unlimited, memory: 256, memorySwap: -1 }, false, true)).toEqual([{ Memory: 256, MemorySwap: UNLIMITED_MEMORY }, { MemorySwap: -1 }]);
    expect(restoreUpdates({ ...unlimited, cpuQuota: 20_000, cpuPeriod: 50_000 }, true, false)).toEqual([{ CpuQuota: 20_000, CpuPeriod: 50_000 }]);
  });
});

describe('parseDf', () => {
  it('reads size and free space from df -Pk', () => {
    const output = 'Filesystem           1024-blocks    Used Available Capacity Mounted on\ntmpfs                     8192       0      8192   0% /data\n';
    expect(parseDf(output)).toEqual({ sizeBytes: 8192 * 1024, freeBytes: 8192 * 1024 });
    // A long device name makes df wrap the line.
    expect(parseDf('Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/mapper/very-long\n 100 40 60 40% /\n')).toEqual({ sizeBytes: 102_400, freeBytes: 61_440 });
    expect(parseDf('nonsense')).toBeUndefined();
  });
});

describe('trackRecovery', () => {
  const event = (Action: string, ms: number): DockerEvent => ({ Type: 'container', Action, Actor: { ID: 'c' }, time: Math.floor(ms / 1000), timeNano: ms * 1e6 });

  it('counts from the die to the healthy after the next start', () => {
    const track = { id: 'c', name: 'web', needsHealthy: true, sinceMs: 950 } as Parameters<typeof trackRecovery>[0];
    expect(trackRecovery(track, event('die', 800))).toBe(false); // an earlier death, before since: ignored
    expect(trackRecovery(track, event('health_status: healthy', 900))).toBe(false); // before the death: ignored
    expect(trackRecovery(track, event('die', 1000))).toBe(false);
    expect(trackRecovery(track, event('start', 1100))).toBe(false);
    expect(trackRecovery(track, event('die', 1200))).toBe(false); // crashed again before healthy
    expect(trackRecovery(track, event('health_status: healthy', 1250))).toBe(false);
    expect(trackRecovery(track, event('start', 1400))).toBe(false);
    expect(trackRecovery(track, event('health_status: healthy', 1900))).toBe(true);
    expect(track).toMatchObject({ diedAt: 1000, recoveredAt: 1900 });
  });

  it('without a health check the start is the recovery; a kill event marks a stop through the engine', () => {
    const track = { id: 'c', name: 'web', needsHealthy: false, sinceMs: 995 } as Parameters<typeof trackRecovery>[0];
    trackRecovery(track, event('kill', 990));
    trackRecovery(track, event('die', 1000));
    expect(trackRecovery(track, event('start', 1300))).toBe(true);
    expect(track).toMatchObject({ recoveredAt: 1300, stoppedThroughEngine: true });
  });
});
