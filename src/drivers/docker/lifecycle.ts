// Container lifecycle faults: kill, stop (undone by start), pause (undone by unpause) and restart.
// Each subscribes to the engine's events before acting and reports when the engine says the fault
// took effect (the `die`, `pause` or `start` event), in the engine's own time.
import type Docker from 'dockerode';
import { z } from 'zod';
import { durationSchema, formatDuration } from '../../core/duration.js';
import { FaultlineError } from '../../core/errors.js';
import { signalSchema } from '../process/index.js';
import type { PreparedAction } from '../types.js';
import type { DockerContext, DockerAction, DockerUndo } from './select.js';
import { dockerClient, dockerError, engineCall, isNotFound, statusOf, undoConnectionSchema } from './connection.js';
import { mainProcessOf, signalMainProcess } from './crash.js';
import { BLACK_HOLE, REFUSED, judgeContainerReach, killEffect, readContainerBytes } from './reach.js';
import { EventFeed, eventTimeMs, type DockerEvent } from './events.js';
import {
  containerRefSchema,
  describeContainer,
  refOf,
  requireSelector,
  selectContainers,
  selectShape,
  type ContainerRef,
  type MatchArgs,
  type SelectArgs,
  type Selection,
} from './select.js';

/** What prepare hands to apply: the engine and the containers chosen. */
export type DockerPrepared = PreparedAction<Selection>;

export function selectionOf(prepared: PreparedAction<Selection>): Selection {
  return prepared.state;
}

/** Undo arguments that name containers: the engine and the ids, since recover has no experiment. */
export const containersUndoArgs = z.strictObject({ docker: undoConnectionSchema, containers: z.array(containerRefSchema) });
export type ContainersUndoArgs = z.output<typeof containersUndoArgs>;

export function withSelector<T extends z.ZodRawShape>(shape: T) {
  return z.strictObject({ ...selectShape, ...shape }).superRefine((args, ctx) => requireSelector(args as MatchArgs, ctx));
}

/** Resolves the containers; the undo, if any, is built from them. */
export async function prepareSelection(
  args: SelectArgs,
  ctx: DockerContext,
  action: string,
  undo: ((selection: Selection) => PreparedAction['undo']) | null,
): Promise<DockerPrepared> {
  const selection = await selectContainers(args, ctx, action);
  return { targets: selection.containers.map(describeContainer), undo: undo ? undo(selection) : null, state: selection };
}

export function containersUndo(op: string) {
  return (selection: Selection) => ({ driver: 'docker', op, args: { docker: selection.dockerHost, containers: selection.containers.map(refOf) } });
}

/** How long a feed opened by a recheck may stay open on the engine's side; the recheck's signal closes it first. */
const READIED_FEED_MS = 10 * 60_000;

/**
 * Just before a fault's instant: each chosen container is still there and running (one inspect each),
 * else false and the run selects again. The event feed apply waits on is opened first and kept in the
 * session, so apply at the instant only acts, and what happens to the containers after these inspects
 * is in the feed.
 */
export async function recheckContainers(selection: Selection, ctx: DockerContext): Promise<boolean> {
  if (selection.containers.length === 0) return true;
  const docker = await dockerClient(selection.dockerHost, ctx.session);
  const feed = await EventFeed.open(docker, selection.dockerHost, {
    sinceMs: Date.now(),
    untilMs: Date.now() + READIED_FEED_MS,
    containerIds: selection.containers.map((c) => c.id),
    signal: ctx.signal,
  });
  ctx.session?.readied.set(selection, feed);
  // All at once: the recheck must fit in the moment before the instant, whatever the number of containers.
  const holds = await Promise.all(
    selection.containers.map(async (ref) => {
      let info: Docker.ContainerInspectInfo;
      try {
        info = await docker.getContainer(ref.id).inspect();
      } catch (error) {
        if (isNotFound(error)) {
          ctx.log(`${describeContainer(ref)} is gone since it was chosen`);
          return false;
        }
        throw dockerError(selection.dockerHost, `cannot inspect ${describeContainer(ref)}`, error);
      }
      if (!info.State.Running || info.State.Restarting) {
        ctx.log(`${describeContainer(ref)} is ${info.State.Status} since it was chosen`);
        return false;
      }
      return true;
    }),
  );
  return holds.every(Boolean);
}

/** The feed a recheck opened for this selection, taken once; undefined when there is none (or it ended). */
function takeReadiedFeed(selection: Selection, ctx: DockerContext): EventFeed | undefined {
  const feed = ctx.session?.readied.get(selection);
  ctx.session?.readied.delete(selection);
  if (!feed || feed.closed) return undefined;
  // Events from before the action (the recheck's own time) confirm nothing.
  feed.discardQueued();
  return feed;
}

/**
 * Opens the events of the chosen containers before acting on them (or takes the feed a recheck opened
 * before the instant), runs `act` on each, and waits
 * (at most `waitMs`) for the event that shows it took effect. The `since` replay covers the moment
 * between the engine answering the subscription and registering it.
 */
async function actAndObserve(
  selection: Selection,
  ctx: DockerContext,
  options: { waitMs: number; confirms: (event: DockerEvent) => boolean; act: (container: Docker.Container, ref: ContainerRef) => Promise<unknown>; verb: string; done: string },
): Promise<{ requestedAt: number; observed: Map<string, DockerEvent> }> {
  const docker = await dockerClient(selection.dockerHost, ctx.session);
  const requestedAt = Date.now();
  const deadline = requestedAt + options.waitMs;
  const ids = selection.containers.map((c) => c.id);
  const observed = new Map<string, DockerEvent>();
  if (ids.length === 0) return { requestedAt, observed };
  const feed = takeReadiedFeed(selection, ctx) ?? (await EventFeed.open(docker, selection.dockerHost, { sinceMs: requestedAt, untilMs: deadline + 1000, containerIds: ids, signal: ctx.signal }));
  try {
    await Promise.all(
      selection.containers.map(async (ref) => {
        try {
          await options.act(docker.getContainer(ref.id), ref);
        } catch (error) {
          if (isNotFound(error)) {
            throw new FaultlineError('E_DRIVER', `${describeContainer(ref)} vanished before it could be ${options.done}`, {
              hint: 'it was removed between planning and the fault',
            });
          }
          throw dockerError(selection.dockerHost, `cannot ${options.verb} ${describeContainer(ref)}`, error);
        }
      }),
    );
    while (observed.size < ids.length) {
      const event = await feed.waitFor((e) => ids.includes(e.Actor.ID) && !observed.has(e.Actor.ID) && options.confirms(e), deadline, ctx.signal);
      if (!event) break;
      observed.set(event.Actor.ID, event);
    }
  } finally {
    feed.close();
  }
  return { requestedAt, observed };
}

function isoOf(epochMs: number): string {
  return new Date(epochMs).toISOString();
}

/** The earliest engine time among the observed events, else when the request was sent. */
function effectTime(observed: Map<string, DockerEvent>, fallback: number): number {
  const times = [...observed.values()].map(eventTimeMs);
  return times.length > 0 ? Math.min(...times) : fallback;
}

/** The containers a fault hit, in the shape every docker action's output shares. */
export function containersOutput(selection: Selection) {
  return {
    containers: selection.containers.map(refOf),
    ids: selection.containers.map((c) => c.id),
    names: selection.containers.map((c) => c.name),
    docker: selection.dockerHost,
  };
}

export function emptyOutput(selection: Selection) {
  return { ...containersOutput(selection), note: 'no container matched; nothing was touched (allowEmpty)' };
}

// ─── kill ──────────────────────────────────────────────────────────────────────────────────────

const killArgs = withSelector({
  signal: signalSchema.default('SIGKILL').meta({ description: 'Signal to send; default SIGKILL.' }),
  method: z
    .enum(['engine', 'crash'])
    .default('engine')
    .meta({
      description:
        'engine (default): docker kill through the Engine API, which Docker records as a deliberate stop, so restart policies do not restart the container. crash: signal the container\'s main process on the engine\'s host, as a crash would; restart policies then apply (faultline must run on that host, allowed to signal the process).',
    }),
  waitForExit: durationSchema
    .default(10_000)
    .meta({ description: 'How long to wait for the engine\'s die event (default 10s). With SIGKILL a container that does not die fails the fault.' }),
});
type KillArgs = z.output<typeof killArgs>;

export const kill: DockerAction<KillArgs, Selection> = {
  description:
    'Kill containers (SIGKILL unless told otherwise), through the engine or as a crash (method). Nothing undoes it; it is recorded, and recovery is judged by probes (docker.recovery). Output killedAt is the engine\'s die time.',
  args: killArgs,
  reversible: false,
  recheck: (_args, prepared, ctx) => recheckContainers(prepared.state, ctx),
  async prepare(args, ctx) {
    const prepared = await prepareSelection(args, ctx, 'kill', null);
    if (args.method === 'crash') {
      const selection = selectionOf(prepared);
      // Refused before any fault when the processes cannot be reached from here.
      for (const ref of selection.containers) await mainProcessOf(await dockerClient(selection.dockerHost, ctx.session), selection.dockerHost, ref);
    }
    return prepared;
  },
  effect: (args) => killEffect(args.signal),
  readReach: (_args, prepared, ctx) => readContainerBytes(prepared, ctx.signal, ctx.session),
  judgeReach: (args, readings) => judgeContainerReach('kill', !!killEffect(args.signal).outage, readings),
  async apply(args, prepared, ctx) {
    const selection = selectionOf(prepared);
    if (selection.containers.length === 0) return { ...emptyOutput(selection), signal: args.signal, method: args.method, killedAt: null, killedAtMs: null, died: false };
    const docker = await dockerClient(selection.dockerHost, ctx.session);
    const { requestedAt, observed } = await actAndObserve(selection, ctx, {
      waitMs: args.waitForExit,
      confirms: (e) => e.Action === 'die',
      act: async (container, ref) => {
        if (args.method === 'engine') return container.kill({ signal: args.signal });
        signalMainProcess(await mainProcessOf(docker, selection.dockerHost, ref), args.signal, ref);
      },
      verb: 'kill',
      done: 'killed',
    });
    const containers = selection.containers.map((ref) => {
      const die = observed.get(ref.id);
      return {
        ...ref,
        died: die !== undefined,
        diedAt: die ? isoOf(eventTimeMs(die)) : null,
        exitCode: die?.Actor.Attributes?.exitCode !== undefined ? Number(die.Actor.Attributes.exitCode) : null,
      };
    });
    const survivors = containers.filter((c) => !c.died);
    if (args.signal === 'SIGKILL' && survivors.length > 0) {
      throw new FaultlineError('E_DRIVER', `${survivors.map(describeContainer).join(', ')} did not die within ${formatDuration(args.waitForExit)} of SIGKILL`, {
        hint: 'the engine reported no die event; the fault did not take effect',
      });
    }
    const killedAtMs = effectTime(observed, requestedAt);
    for (const c of containers) ctx.log(`sent ${args.signal} (${args.method}) to ${describeContainer(c)}${c.died ? `; it died at ${c.diedAt} (exit ${c.exitCode})` : '; no die event yet'}`);
    return {
      signal: args.signal,
      method: args.method,
      killedAt: isoOf(killedAtMs),
      killedAtMs,
      died: survivors.length === 0,
      containers,
      ids: containers.map((c) => c.id),
      names: containers.map((c) => c.name),
      docker: selection.dockerHost,
    };
  },
};

// ─── stop / start ──────────────────────────────────────────────────────────────────────────────

const stopArgs = withSelector({
  timeout: durationSchema
    .default(10_000)
    .meta({ description: 'Grace between SIGTERM and SIGKILL, as docker stop -t (default 10s).' }),
});
type StopArgs = z.output<typeof stopArgs>;

export const stop: DockerAction<StopArgs, Selection> = {
  description: 'Stop containers (SIGTERM, then SIGKILL after the timeout). Undone by starting them again: give the step a duration to start them after it.',
  args: stopArgs,
  reversible: true,
  recheck: (_args, prepared, ctx) => recheckContainers(prepared.state, ctx),
  prepare: (args, ctx) => prepareSelection(args, ctx, 'stop', containersUndo('start')),
  effect: () => REFUSED,
  readReach: (_args, prepared, ctx) => readContainerBytes(prepared, ctx.signal, ctx.session),
  judgeReach: (_args, readings) => judgeContainerReach('stop', true, readings),
  async apply(args, prepared, ctx) {
    const selection = selectionOf(prepared);
    if (selection.containers.length === 0) return { ...emptyOutput(selection), stoppedAt: null };
    const seconds = Math.ceil(args.timeout / 1000);
    const { requestedAt, observed } = await actAndObserve(selection, ctx, {
      // docker stop returns once the container is down, so the die event is already buffered.
      waitMs: args.timeout + 5_000,
      confirms: (e) => e.Action === 'die',
      act: async (container) => {
        try {
          await container.stop({ t: seconds });
        } catch (error) {
          if (statusOf(error) !== 304) throw error; // 304: already stopped
        }
      },
      verb: 'stop',
      done: 'stopped',
    });
    const stoppedAtMs = effectTime(observed, requestedAt);
    for (const ref of selection.containers) ctx.log(`stopped ${describeContainer(ref)}`);
    return {
      stoppedAt: isoOf(stoppedAtMs),
      stoppedAtMs,
      ...containersOutput(selection),
    };
  },
};

/** Inspects a container for an undo; undefined (and a log line saying why) when it is gone. */
export async function inspectForUndo(docker: Docker, dockerHost: string, ref: ContainerRef, ctx: DockerContext, what: string): Promise<Docker.ContainerInspectInfo | undefined> {
  try {
    return await docker.getContainer(ref.id).inspect();
  } catch (error) {
    if (isNotFound(error)) {
      ctx.log(`${describeContainer(ref)} no longer exists (removed before the undo); nothing to ${what}`);
      return undefined;
    }
    throw dockerError(dockerHost, `cannot inspect ${describeContainer(ref)}`, error);
  }
}

export const startUndo: DockerUndo<ContainersUndoArgs> = {
  args: containersUndoArgs,
  async run(args, ctx) {
    const docker = await dockerClient(args.docker, ctx.session);
    for (const ref of args.containers) {
      const info = await inspectForUndo(docker, args.docker, ref, ctx, 'start');
      if (!info) continue;
      if (info.State.Running) {
        ctx.log(`${describeContainer(ref)} is already running`);
        continue;
      }
      await engineCall(args.docker, `cannot start ${describeContainer(ref)}`, async () => {
        try {
          await docker.getContainer(ref.id).start();
        } catch (error) {
          if (statusOf(error) !== 304) throw error;
        }
      });
      ctx.log(`started ${describeContainer(ref)} again`);
    }
  },
};

// ─── pause / unpause ───────────────────────────────────────────────────────────────────────────

const pauseArgs = withSelector({});
type PauseArgs = z.output<typeof pauseArgs>;

export const pause: DockerAction<PauseArgs, Selection> = {
  description: 'Freeze every process of containers (docker pause, the cgroup freezer): they hold their sockets and answer nothing. Undone by unpause.',
  args: pauseArgs,
  reversible: true,
  recheck: (_args, prepared, ctx) => recheckContainers(prepared.state, ctx),
  prepare: (args, ctx) => prepareSelection(args, ctx, 'pause', containersUndo('unpause')),
  effect: () => BLACK_HOLE,
  readReach: (_args, prepared, ctx) => readContainerBytes(prepared, ctx.signal, ctx.session),
  judgeReach: (_args, readings) => judgeContainerReach('pause', true, readings),
  async apply(_args, prepared, ctx) {
    const selection = selectionOf(prepared);
    if (selection.containers.length === 0) return { ...emptyOutput(selection), pausedAt: null };
    const { requestedAt, observed } = await actAndObserve(selection, ctx, {
      waitMs: 5_000,
      confirms: (e) => e.Action === 'pause',
      act: (container) => container.pause(),
      verb: 'pause',
      done: 'paused',
    });
    const docker = await dockerClient(selection.dockerHost, ctx.session);
    for (const ref of selection.containers) {
      // The engine's pause event is its word that the container is frozen; without one, ask it.
      if (!observed.has(ref.id)) {
        const info = await engineCall(selection.dockerHost, `cannot inspect ${describeContainer(ref)}`, () => docker.getContainer(ref.id).inspect());
        if (!info.State.Paused) throw new FaultlineError('E_DRIVER', `${describeContainer(ref)} is not paused after docker pause (status ${info.State.Status})`);
      }
      ctx.log(`paused ${describeContainer(ref)}`);
    }
    const pausedAtMs = effectTime(observed, requestedAt);
    return {
      pausedAt: isoOf(pausedAtMs),
      pausedAtMs,
      ...containersOutput(selection),
    };
  },
};

export const unpauseUndo: DockerUndo<ContainersUndoArgs> = {
  args: containersUndoArgs,
  async run(args, ctx) {
    const docker = await dockerClient(args.docker, ctx.session);
    for (const ref of args.containers) {
      const info = await inspectForUndo(docker, args.docker, ref, ctx, 'unpause');
      if (!info) continue;
      if (!info.State.Paused) {
        ctx.log(`${describeContainer(ref)} is not paused`);
        continue;
      }
      await engineCall(args.docker, `cannot unpause ${describeContainer(ref)}`, () => docker.getContainer(ref.id).unpause());
      ctx.log(`unpaused ${describeContainer(ref)}`);
    }
  },
};

// ─── restart ───────────────────────────────────────────────────────────────────────────────────

const restartArgs = withSelector({
  timeout: durationSchema.default(10_000).meta({ description: 'Grace between SIGTERM and SIGKILL, as docker restart -t (default 10s).' }),
});
type RestartArgs = z.output<typeof restartArgs>;

export const restart: DockerAction<RestartArgs, Selection> = {
  description: 'Restart containers (docker restart). Nothing undoes it; it is recorded. Output restartedAt is when the engine started them again.',
  args: restartArgs,
  reversible: false,
  recheck: (_args, prepared, ctx) => recheckContainers(prepared.state, ctx),
  prepare: (args, ctx) => prepareSelection(args, ctx, 'restart', null),
  effect: () => REFUSED,
  readReach: (_args, prepared, ctx) => readContainerBytes(prepared, ctx.signal, ctx.session),
  judgeReach: (_args, readings) => judgeContainerReach('restart', true, readings),
  async apply(args, prepared, ctx) {
    const selection = selectionOf(prepared);
    if (selection.containers.length === 0) return { ...emptyOutput(selection), restartedAt: null };
    const { requestedAt, observed } = await actAndObserve(selection, ctx, {
      waitMs: args.timeout + 10_000,
      confirms: (e) => e.Action === 'start' || e.Action === 'restart',
      act: (container) => container.restart({ t: Math.ceil(args.timeout / 1000) }),
      verb: 'restart',
      done: 'restarted',
    });
    const restartedAtMs = observed.size > 0 ? Math.max(...[...observed.values()].map(eventTimeMs)) : requestedAt;
    for (const ref of selection.containers) ctx.log(`restarted ${describeContainer(ref)}`);
    return {
      restartedAt: isoOf(restartedAtMs),
      restartedAtMs,
      ...containersOutput(selection),
    };
  },
};
