// What the docker driver observes: whether a container runs, its health check, its restarts, how
// many of a selector's containers are healthy, and how long a killed container took to be running
// and healthy again. Restarts and recovery are read from the engine's event stream, never by
// polling in a loop.
import type Docker from 'dockerode';
import { z } from 'zod';
import { durationSchema, formatDuration } from '../../core/duration.js';
import type { DockerContext, DockerProbe } from './select.js';
import { dockerClient, dockerError, isNotFound } from './connection.js';
import { EventFeed, eventTimeMs, type DockerEvent } from './events.js';
import { describeSelector, dockerHostFor, isHealthyState, listMatching, matchShape, requireSelector, shortId, type MatchArgs } from './select.js';
import { exclusionSchema, isExcluded } from '../selection.js';

const containerArg = z.string().min(1).meta({ description: 'A container name or id.' });

/** A moment as the kill's output gives it (ISO text, e.g. ${steps.kill.output.killedAt}) or epoch milliseconds. */
const timeSchema = z.union([z.number().nonnegative(), z.string().min(1)]).transform((value, ctx) => {
  const ms = typeof value === 'number' ? value : Date.parse(value);
  if (!Number.isFinite(ms)) {
    ctx.addIssue({ code: 'custom', message: `expected a time like 2025-01-31T12:00:00.000Z or epoch milliseconds, got "${value}"` });
    return z.NEVER;
  }
  return ms;
});

/** Inspects a container, or undefined when there is none by that name or id. */
async function inspectOrNothing(ctx: DockerContext, container: string): Promise<Docker.ContainerInspectInfo | undefined> {
  const dockerHost = dockerHostFor(ctx);
  try {
    return await (await dockerClient(dockerHost, ctx.session)).getContainer(container).inspect({ abortSignal: ctx.signal });
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw dockerError(dockerHost, `cannot inspect container ${container}`, error);
  }
}

function nameOf(info: Docker.ContainerInspectInfo): string {
  return info.Name.replace(/^\//, '');
}

function healthOf(info: Docker.ContainerInspectInfo): string {
  return info.State.Health?.Status ?? 'none';
}

function hasHealthcheck(info: Docker.ContainerInspectInfo): boolean {
  const test = info.Config.Healthcheck?.Test;
  return Array.isArray(test) && test.length > 0 && test[0] !== 'NONE';
}

const singleArgs = z.strictObject({ container: containerArg });
type SingleArgs = z.output<typeof singleArgs>;

export const running: DockerProbe<SingleArgs> = {
  description: 'Is the container there and running (not paused, not restarting)?',
  args: singleArgs,
  outputs: {
    running: 'true when the container runs and is neither paused nor restarting',
    exists: 'false when no container has that name or id',
    status: 'created, running, paused, restarting, exited, dead; null when it does not exist',
    restartCount: 'restarts by its restart policy so far',
    id: 'its full id',
  },
  defaultExpect: { running: true },
  async run(args, ctx) {
    const info = await inspectOrNothing(ctx, args.container);
    if (!info) return { running: false, exists: false, status: null, restartCount: null, id: null };
    return {
      running: info.State.Running && !info.State.Paused && !info.State.Restarting,
      exists: true,
      status: info.State.Status,
      restartCount: info.RestartCount,
      id: info.Id,
      name: nameOf(info),
    };
  },
};

export const health: DockerProbe<SingleArgs> = {
  description: "The container's Docker health check status.",
  args: singleArgs,
  outputs: {
    healthy: 'true when it runs and its health check says healthy (or it has no health check)',
    health: 'healthy, unhealthy, starting, or none (no health check)',
    running: 'true when it runs',
    failingStreak: 'consecutive failed checks',
    lastCheck: 'the output of the latest check',
  },
  defaultExpect: { healthy: true },
  async run(args, ctx) {
    const info = await inspectOrNothing(ctx, args.container);
    if (!info) return { healthy: false, health: 'none', running: false, exists: false, failingStreak: null, lastCheck: null };
    const log = info.State.Health?.Log ?? [];
    return {
      healthy: isHealthyState(info.State),
      health: healthOf(info),
      running: info.State.Running,
      exists: true,
      failingStreak: info.State.Health?.FailingStreak ?? 0,
      lastCheck: log.length > 0 ? log[log.length - 1]!.Output.trim().slice(-500) : null,
    };
  },
};

const restartsArgs = z.strictObject({
  container: containerArg,
  since: timeSchema.optional().meta({ description: 'Count the restarts since this time (ISO or epoch ms), from the engine\'s events.' }),
});
type RestartsArgs = z.output<typeof restartsArgs>;

/** A die followed by a start, in the events replayed from `sinceMs` up to now. */
async function restartsSince(ctx: DockerContext, dockerHost: string, id: string, sinceMs: number, signal: AbortSignal): Promise<{ restarts: number; dies: number }> {
  const now = Date.now();
  const feed = await EventFeed.open(await dockerClient(dockerHost, ctx.session), dockerHost, { sinceMs, untilMs: now, containerIds: [id], signal });
  let restarts = 0;
  let dies = 0;
  let down = false;
  try {
    // The engine ends the replay at `until` (now); the local bound only guards against a silent engine.
    for (let event = await feed.next(now + 5_000, signal); event; event = await feed.next(now + 5_000, signal)) {
      if (event.Actor.ID !== id) continue;
      if (event.Action === 'die') {
        dies += 1;
        down = true;
      } else if (event.Action === 'start' && down) {
        restarts += 1;
        down = false;
      }
    }
  } finally {
    feed.close();
  }
  return { restarts, dies };
}

export const restarts: DockerProbe<RestartsArgs> = {
  description: "How often the container was restarted: the engine's restart count, and with since, the restarts (a die then a start) in its event stream since then.",
  args: restartsArgs,
  outputs: {
    restartCount: 'restarts by its restart policy since it was created (docker inspect RestartCount)',
    restartsSince: 'with since: restarts seen in the event stream since then (a die followed by a start)',
    diesSince: 'with since: how often it died since then',
    running: 'true when it runs now',
  },
  async run(args, ctx) {
    const info = await inspectOrNothing(ctx, args.container);
    if (!info) return { restartCount: null, restartsSince: null, diesSince: null, running: false, exists: false };
    const output: Record<string, unknown> = { restartCount: info.RestartCount, running: info.State.Running, exists: true };
    if (args.since !== undefined) {
      const seen = await restartsSince(ctx, dockerHostFor(ctx), info.Id, args.since, ctx.signal);
      output.restartsSince = seen.restarts;
      output.diesSince = seen.dies;
    }
    return output;
  },
};

const healthyCountArgs = z.strictObject({ ...matchShape, exclude: exclusionSchema.optional() }).superRefine(requireSelector);
type HealthyCountArgs = z.output<typeof healthyCountArgs>;

export const healthyCount: DockerProbe<HealthyCountArgs> = {
  description: 'How many containers matching a selector are healthy (running, and healthy by their health check when they have one).',
  args: healthyCountArgs,
  outputs: {
    healthy: 'matching containers that are healthy',
    total: 'matching containers, running or not',
    running: 'matching containers that run',
    unhealthyNames: 'names of the matching containers that are not healthy',
  },
  async run(args, ctx) {
    const dockerHost = dockerHostFor(ctx);
    const docker = await dockerClient(dockerHost, ctx.session);
    const matching = (await listMatching(docker, dockerHost, args as MatchArgs, ctx.signal)).filter((c) => !isExcluded(c.name, args.exclude));
    const healthyNames: string[] = [];
    const unhealthyNames: string[] = [];
    let runningCount = 0;
    for (const candidate of matching) {
      let info: Docker.ContainerInspectInfo;
      try {
        info = await docker.getContainer(candidate.id).inspect({ abortSignal: ctx.signal });
      } catch (error) {
        if (isNotFound(error)) continue;
        throw dockerError(dockerHost, `cannot inspect ${candidate.name}`, error);
      }
      if (info.State.Running) runningCount += 1;
      (isHealthyState(info.State) ? healthyNames : unhealthyNames).push(candidate.name);
    }
    return { healthy: healthyNames.length, total: matching.length, running: runningCount, healthyNames, unhealthyNames, selector: describeSelector(args as MatchArgs) };
  },
};

const recoveryArgs = z.strictObject({
  container: z
    .union([containerArg, z.array(containerArg).min(1)])
    .meta({ description: 'The killed container(s), by name or id: e.g. ${steps.kill.output.ids}.' }),
  since: timeSchema.meta({ description: 'When it was killed: ${steps.<kill step id>.output.killedAt}, or any time before the kill (ISO or epoch ms).' }),
  within: durationSchema
    .default(20_000)
    .meta({ description: 'The recovery objective: wait at most this long after `since` (default 20s). Give the step a timeout above it.' }),
  healthy: z
    .boolean()
    .optional()
    .meta({ description: 'Require the health check to pass again (default: when the container has a health check).' }),
});
type RecoveryArgs = z.output<typeof recoveryArgs>;

/** How far before `since` the recovery probe looks for the `kill` event that preceded the death. */
const KILL_LOOKBACK_MS = 2_000;

interface RecoveryTrack {
  id: string;
  name: string;
  needsHealthy: boolean;
  /** Deaths before this are not the one being recovered from. */
  sinceMs: number;
  diedAt?: number;
  startedAt?: number;
  recoveredAt?: number;
  destroyed?: boolean;
  /** A `kill` event came before the death: the engine was told to kill or stop it, not a crash. */
  stoppedThroughEngine?: boolean;
}

/** Advances one container's recovery on an event; true once it is recovered (or gone for good). */
export function trackRecovery(track: RecoveryTrack, event: DockerEvent): boolean {
  const at = eventTimeMs(event);
  if (event.Action === 'destroy') {
    track.destroyed = true;
    return true;
  }
  if (event.Action === 'kill' && track.diedAt === undefined) {
    track.stoppedThroughEngine = true;
    return false;
  }
  if (event.Action === 'die') {
    // The feed starts a little before `since` to see the kill that led to the death; a death
    // before `since` is an earlier one, and so was the kill before it.
    if (at < track.sinceMs) {
      track.stoppedThroughEngine = undefined;
      return false;
    }
    track.diedAt ??= at;
    // Died again before it was healthy: it needs another start.
    track.startedAt = undefined;
    return false;
  }
  if (track.diedAt === undefined) return false;
  if (event.Action === 'start') {
    track.startedAt = at;
    if (!track.needsHealthy) track.recoveredAt = at;
  } else if (event.Action === 'health_status: healthy' && track.startedAt !== undefined) {
    track.recoveredAt = at;
  }
  return track.recoveredAt !== undefined;
}

function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

export const recovery: DockerProbe<RecoveryArgs> = {
  description:
    "Time until a killed container is running (and healthy, when it has a health check) again, from the engine's event stream: from its die event at or after `since` to the start or health_status: healthy that follows, bounded by `within`.",
  args: recoveryArgs,
  outputs: {
    recovered: 'true when every container was running (and healthy) again within `within` of `since`',
    recoveryMs: 'the longest time from a die event to recovery, in ms; null when one did not recover',
    restartCount: 'the restart count (docker inspect) after the wait, summed over the containers',
    died: 'true when every container died at or after `since`; a recovery is only measured after a death',
    containers: 'per container: diedAt, startedAt, recoveredAt, recoveryMs, running, health, restartCount',
  },
  defaultExpect: { recovered: true },
  async run(args, ctx) {
    const dockerHost = dockerHostFor(ctx);
    const docker = await dockerClient(dockerHost, ctx.session);
    const wanted = Array.isArray(args.container) ? args.container : [args.container];
    const tracks: RecoveryTrack[] = [];
    const missing: string[] = [];
    for (const container of wanted) {
      const info = await inspectOrNothing(ctx, container);
      if (!info) missing.push(container);
      else tracks.push({ id: info.Id, name: nameOf(info), needsHealthy: args.healthy ?? hasHealthcheck(info), sinceMs: args.since });
    }
    const objectiveEnd = args.since + args.within;
    if (tracks.length > 0) {
      const feed = await EventFeed.open(docker, dockerHost, { sinceMs: args.since - KILL_LOOKBACK_MS, untilMs: objectiveEnd, containerIds: tracks.map((t) => t.id), signal: ctx.signal });
      const open = new Set(tracks.map((t) => t.id));
      // The engine ends the stream at `until`; the local bound is a guard should it not.
      const localDeadline = Math.max(objectiveEnd, Date.now()) + 5_000;
      try {
        while (open.size > 0) {
          const event = await feed.next(localDeadline, ctx.signal);
          if (!event) break;
          const track = tracks.find((t) => t.id === event.Actor.ID);
          if (track && open.has(track.id) && trackRecovery(track, event)) open.delete(track.id);
        }
      } finally {
        feed.close();
      }
    }
    const containers = [];
    for (const track of tracks) {
      const info = track.destroyed ? undefined : await inspectOrNothing(ctx, track.id);
      const recovered = track.recoveredAt !== undefined && track.recoveredAt <= objectiveEnd;
      containers.push({
        id: track.id,
        name: track.name,
        died: track.diedAt !== undefined,
        diedAt: iso(track.diedAt),
        startedAt: iso(track.startedAt),
        recoveredAt: iso(track.recoveredAt),
        recovered,
        recoveryMs: recovered ? Math.round(track.recoveredAt! - track.diedAt!) : null,
        requiredHealthy: track.needsHealthy,
        running: info?.State.Running ?? false,
        health: info ? healthOf(info) : null,
        restartCount: info?.RestartCount ?? null,
        ...(track.destroyed ? { note: 'removed while waiting' } : {}),
        ...(!recovered && track.stoppedThroughEngine
          ? { note: 'it was killed or stopped through the Engine API, which Docker treats as a deliberate stop: restart policies do not restart it (docker.kill method: crash simulates a crash)' }
          : {}),
      });
      ctx.log(
        track.diedAt === undefined
          ? `${track.name} (${shortId(track.id)}) did not die at or after ${iso(args.since)}`
          : recovered
            ? `${track.name} recovered ${formatDuration(Math.round(track.recoveredAt! - track.diedAt))} after it died`
            : `${track.name} died at ${iso(track.diedAt)} and was not ${track.needsHealthy ? 'running and healthy' : 'running'} again within ${formatDuration(args.within)} of ${iso(args.since)}`,
      );
    }
    const all = containers.length > 0 && missing.length === 0;
    const recovered = all && containers.every((c) => c.recovered);
    return {
      recovered,
      recoveryMs: recovered ? Math.max(...containers.map((c) => c.recoveryMs!)) : null,
      restartCount: containers.reduce((sum, c) => sum + (c.restartCount ?? 0), 0),
      died: all && containers.every((c) => c.died),
      containers,
      ...(missing.length > 0 ? { missing } : {}),
      within: args.within,
    };
  },
};
