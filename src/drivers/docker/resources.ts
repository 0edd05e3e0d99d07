// Resource squeezes: CPU and memory limits through docker update (undone by restoring the values
// read before the fault), and disk fill, a file written inside the container by exec (undone by
// removing it).
import { randomBytes } from 'node:crypto';
import { posix } from 'node:path';
import type Docker from 'dockerode';
import { z } from 'zod';
import { durationSchema } from '../../core/duration.js';
import { FaultlineError } from '../../core/errors.js';
import type { DockerContext, DockerAction, DockerUndo } from './select.js';
import { dockerClient, dockerError, engineCall, isNotFound, undoConnectionSchema } from './connection.js';
import { execChecked, execIn } from './exec.js';
import { containersOutput, emptyOutput, inspectForUndo, prepareSelection, selectionOf, withSelector, recheckContainers } from './lifecycle.js';
import { containerRefSchema, describeContainer, refOf, selectContainers, type ContainerRef, type Selection } from './select.js';
import { byteSizeSchema, formatBytes } from './size.js';
import { judgeContainerReach, readContainerBytes } from './reach.js';

// ─── limit ─────────────────────────────────────────────────────────────────────────────────────

/**
 * "No memory limit" as docker update can write it. The Engine API reads Memory: 0 as "leave as it
 * is" and refuses -1 (moby/moby#22516), so an unlimited container is given the kernel's own maximum
 * back: its cgroup then reads exactly as before the fault, though inspect shows this number, not 0.
 */
export const UNLIMITED_MEMORY = 9_223_372_036_854_771_712;
/** The kernel's default CFS period, used when the container had none of its own. */
const DEFAULT_CPU_PERIOD = 100_000;

const originalResources = z.strictObject({
  nanoCpus: z.number(),
  cpuQuota: z.number(),
  cpuPeriod: z.number(),
  memory: z.number(),
  memorySwap: z.number(),
});
type OriginalResources = z.output<typeof originalResources>;

/** The fields of POST /containers/{id}/update this driver writes; @types/dockerode types the body as {}. */
export interface ResourceUpdate {
  NanoCpus?: number;
  CpuQuota?: number;
  CpuPeriod?: number;
  Memory?: number;
  MemorySwap?: number;
}

const restoreArgs = z.strictObject({
  docker: undoConnectionSchema,
  containers: z.array(containerRefSchema.extend({ original: originalResources })),
  cpu: z.boolean(),
  memory: z.boolean(),
});
type RestoreArgs = z.output<typeof restoreArgs>;

const limitArgs = withSelector({
  cpus: z.number().positive().optional().meta({ description: 'CPUs the containers may use, e.g. 0.5 (docker update --cpus).' }),
  memory: byteSizeSchema
    .optional()
    .meta({ description: 'Memory limit, e.g. 64MiB (docker update --memory); swap is limited to the same, so the container gets no swap.' }),
}).refine((args) => args.cpus !== undefined || args.memory !== undefined, 'give cpus, memory or both');
type LimitArgs = z.output<typeof limitArgs>;

function originalOf(info: Docker.ContainerInspectInfo): OriginalResources {
  const host = info.HostConfig as Docker.HostConfig;
  return {
    nanoCpus: host.NanoCpus ?? 0,
    cpuQuota: host.CpuQuota ?? 0,
    cpuPeriod: host.CpuPeriod ?? 0,
    memory: host.Memory ?? 0,
    memorySwap: host.MemorySwap ?? 0,
  };
}

/** The update that applies the limit, in the form the container's own CPU setting already uses. */
export function limitUpdate(original: OriginalResources, cpus: number | undefined, memory: number | undefined): ResourceUpdate {
  const update: ResourceUpdate = {};
  if (cpus !== undefined) {
    // NanoCpus and CpuQuota cannot both be set on a container: keep to the one it was created with.
    if (original.nanoCpus > 0) update.NanoCpus = Math.round(cpus * 1e9);
    else {
      const period = original.cpuPeriod > 0 ? original.cpuPeriod : DEFAULT_CPU_PERIOD;
      update.CpuPeriod = period;
      update.CpuQuota = Math.max(1000, Math.round(cpus * period));
    }
  }
  if (memory !== undefined) {
    update.Memory = memory;
    update.MemorySwap = memory;
  }
  return update;
}

/** The updates, in order, that give a container its original limits back. */
export function restoreUpdates(original: OriginalResources, cpu: boolean, memory: boolean): ResourceUpdate[] {
  const first: ResourceUpdate = {};
  const then: ResourceUpdate[] = [];
  if (cpu) {
    if (original.nanoCpus > 0) first.NanoCpus = original.nanoCpus;
    else {
      // 0 would mean "no change"; -1 is the engine's and the kernel's "no quota".
      first.CpuQuota = original.cpuQuota > 0 ? original.cpuQuota : -1;
      if (original.cpuPeriod > 0) first.CpuPeriod = original.cpuPeriod;
    }
  }
  if (memory) {
    if (original.memory <= 0) {
      first.Memory = UNLIMITED_MEMORY;
      first.MemorySwap = UNLIMITED_MEMORY;
    } else if (original.memorySwap > 0) {
      first.Memory = original.memory;
      first.MemorySwap = original.memorySwap;
    } else {
      // Unlimited swap (-1) cannot be written together with a raised limit (the kernel refuses a
      // memory limit above the current memory+swap limit): raise both first, then unlimit swap.
      first.Memory = original.memory;
      first.MemorySwap = UNLIMITED_MEMORY;
      then.push({ MemorySwap: -1 });
    }
  }
  return [first, ...then];
}

async function updateContainer(docker: Docker, dockerHost: string, ref: ContainerRef, update: ResourceUpdate): Promise<void> {
  await engineCall(dockerHost, `cannot update the limits of ${describeContainer(ref)}`, () => docker.getContainer(ref.id).update(update));
}

function describeLimits(update: ResourceUpdate): string {
  const parts: string[] = [];
  if (update.NanoCpus !== undefined) parts.push(`${update.NanoCpus / 1e9} CPUs`);
  if (update.CpuQuota !== undefined) parts.push(update.CpuQuota < 0 ? 'no CPU quota' : `CPU quota ${update.CpuQuota}/${update.CpuPeriod ?? DEFAULT_CPU_PERIOD} µs`);
  if (update.Memory !== undefined) parts.push(update.Memory >= UNLIMITED_MEMORY ? 'no memory limit' : `memory ${formatBytes(update.Memory)}`);
  return parts.join(', ');
}

interface LimitState extends Selection {
  originals: OriginalResources[];
}

export const limit: DockerAction<LimitArgs, LimitState> = {
  description: 'Limit the CPU and/or memory of running containers (docker update). Undone by restoring the values they had before.',
  args: limitArgs,
  reversible: true,
  recheck: (_args, prepared, ctx) => recheckContainers(prepared.state, ctx),
  // No effect declared: what a CPU or memory limit does to a request depends on the load.
  readReach: (_args, prepared, ctx) => readContainerBytes(prepared, ctx.signal, ctx.session),
  judgeReach: (_args, readings) => judgeContainerReach('limit', false, readings),
  async prepare(args, ctx) {
    const selection = await selectContainers(args, ctx, 'limit');
    const docker = await dockerClient(selection.dockerHost, ctx.session);
    const originals: OriginalResources[] = [];
    for (const ref of selection.containers) {
      const info = await engineCall(selection.dockerHost, `cannot inspect ${describeContainer(ref)}`, () => docker.getContainer(ref.id).inspect({ abortSignal: ctx.signal }));
      originals.push(originalOf(info));
    }
    const state: LimitState = { ...selection, originals };
    const undoArgs: RestoreArgs = {
      docker: selection.dockerHost,
      containers: selection.containers.map((ref, i) => ({ ...refOf(ref), original: originals[i]! })),
      cpu: args.cpus !== undefined,
      memory: args.memory !== undefined,
    };
    const wanted = [args.cpus !== undefined ? `${args.cpus} CPUs` : '', args.memory !== undefined ? `memory ${formatBytes(args.memory)}` : ''].filter(Boolean).join(', ');
    return { targets: selection.containers.map((ref) => `${describeContainer(ref)} to ${wanted}`), undo: { driver: 'docker', op: 'restore-limits', args: undoArgs }, state };
  },
  async apply(args, prepared, ctx) {
    const state = prepared.state;
    if (state.containers.length === 0) return { ...emptyOutput(state), cpus: args.cpus ?? null, memoryBytes: args.memory ?? null };
    const docker = await dockerClient(state.dockerHost, ctx.session);
    const applied = [];
    for (const [i, ref] of state.containers.entries()) {
      const update = limitUpdate(state.originals[i]!, args.cpus, args.memory);
      await updateContainer(docker, state.dockerHost, ref, update);
      const after = originalOf(await engineCall(state.dockerHost, `cannot inspect ${describeContainer(ref)}`, () => docker.getContainer(ref.id).inspect()));
      const mismatch =
        (update.NanoCpus !== undefined && after.nanoCpus !== update.NanoCpus) ||
        (update.CpuQuota !== undefined && after.cpuQuota !== update.CpuQuota) ||
        (update.Memory !== undefined && after.memory !== update.Memory);
      if (mismatch) throw new FaultlineError('E_DRIVER', `the engine accepted the update of ${describeContainer(ref)} but reports ${JSON.stringify(after)}`);
      ctx.log(`limited ${describeContainer(ref)} to ${describeLimits(update)}`);
      applied.push({ ...refOf(ref), before: state.originals[i], after });
    }
    return { ...containersOutput(state), cpus: args.cpus ?? null, memoryBytes: args.memory ?? null, limits: applied, limitedAt: new Date().toISOString() };
  },
};

export const restoreLimitsUndo: DockerUndo<RestoreArgs> = {
  args: restoreArgs,
  async run(args, ctx) {
    const docker = await dockerClient(args.docker, ctx.session);
    for (const container of args.containers) {
      const ref = { id: container.id, name: container.name };
      const info = await inspectForUndo(docker, args.docker, ref, ctx, 'restore');
      if (!info) continue;
      for (const update of restoreUpdates(container.original, args.cpu, args.memory)) await updateContainer(docker, args.docker, ref, update);
      ctx.log(`restored the limits of ${describeContainer(ref)}: ${describeLimits(restoreUpdates(container.original, args.cpu, args.memory)[0]!)}`);
    }
  },
};

// ─── fill-disk ─────────────────────────────────────────────────────────────────────────────────

const fillArgs = withSelector({
  path: z
    .string()
    .regex(/^\//, 'expected an absolute path inside the container')
    .meta({ description: 'A folder inside the container, on the filesystem to fill (e.g. /data or /tmp).' }),
  size: byteSizeSchema.optional().meta({ description: 'Size of the file to write, e.g. 64MiB.' }),
  percent: z
    .number()
    .gt(0)
    .max(100)
    .optional()
    .meta({ description: 'Size of the file as a share of the filesystem\'s size; 100 fills it up. The write stops when the filesystem is full.' }),
  timeout: durationSchema.default(60_000).meta({ description: 'Longest the write may take (default 1m).' }),
}).refine((args) => (args.size === undefined) !== (args.percent === undefined), 'give size or percent, one of them');
type FillArgs = z.output<typeof fillArgs>;

const removeFileArgs = z.strictObject({ docker: undoConnectionSchema, containers: z.array(containerRefSchema), file: z.string().regex(/^\//) });
type RemoveFileArgs = z.output<typeof removeFileArgs>;

/** fallocate is instant where the filesystem has it; head writes zeros where it has not, until full. */
const FILL_SCRIPT = 'f="$1"; n="$2"; fallocate -l "$n" "$f" 2>/dev/null || head -c "$n" /dev/zero > "$f" 2>/dev/null; stat -c %s "$f"';

interface DiskUsage {
  sizeBytes: number;
  freeBytes: number;
}

/** Parses `df -Pk <path>`: the POSIX format has one line per filesystem, sizes in KiB. */
export function parseDf(output: string): DiskUsage | undefined {
  const line = output.trim().split('\n').slice(1).join(' ');
  const fields = line.trim().split(/\s+/);
  const size = Number(fields[1]);
  const free = Number(fields[3]);
  if (!Number.isFinite(size) || !Number.isFinite(free)) return undefined;
  return { sizeBytes: size * 1024, freeBytes: free * 1024 };
}

async function diskUsage(docker: Docker, dockerHost: string, ref: ContainerRef, path: string, ctx: DockerContext): Promise<DiskUsage> {
  const result = await execChecked(docker, dockerHost, ref, ['df', '-Pk', path], { timeoutMs: 10_000, signal: ctx.signal, what: `df -Pk ${path}` });
  const usage = parseDf(result.stdout);
  if (!usage) throw new FaultlineError('E_DRIVER', `cannot read the output of df -Pk ${path} in ${describeContainer(ref)}: ${result.stdout.trim()}`);
  return usage;
}

export const fillDisk: DockerAction<FillArgs, Selection & { file: string }> = {
  description:
    'Fill a filesystem inside containers: write a file of a size, or a share of the filesystem, under a path (by exec; needs sh, df, stat and fallocate or head in the image). Undone by removing the file.',
  args: fillArgs,
  reversible: true,
  recheck: (_args, prepared, ctx) => recheckContainers(prepared.state, ctx),
  readReach: (_args, prepared, ctx) => readContainerBytes(prepared, ctx.signal, ctx.session),
  judgeReach: (_args, readings) => judgeContainerReach('full disk', false, readings),
  async prepare(args, ctx) {
    // The name is drawn here so the undo in the ledger names the very file apply writes.
    const file = posix.join(args.path, `faultline-fill-${ctx.runId}-${randomBytes(3).toString('hex')}`);
    const prepared = await prepareSelection(args, ctx, 'fill-disk', (selection) => ({
      driver: 'docker',
      op: 'remove-file',
      args: { docker: selection.dockerHost, containers: selection.containers.map(refOf), file } satisfies RemoveFileArgs,
    }));
    return { ...prepared, targets: prepared.targets.map((t) => `${t}: ${file}`), state: { ...selectionOf(prepared), file } };
  },
  async apply(args, prepared, ctx) {
    const selection = selectionOf(prepared);
    const { file } = prepared.state;
    if (selection.containers.length === 0) return { ...emptyOutput(selection), file, filledAt: null };
    const docker = await dockerClient(selection.dockerHost, ctx.session);
    const fills = [];
    for (const ref of selection.containers) {
      const before = await diskUsage(docker, selection.dockerHost, ref, args.path, ctx);
      const requested = args.size ?? Math.ceil((before.sizeBytes * args.percent!) / 100);
      const written = await execIn(docker, selection.dockerHost, ref, ['sh', '-c', FILL_SCRIPT, 'faultline-fill', file, String(requested)], {
        timeoutMs: args.timeout,
        signal: ctx.signal,
      });
      const writtenBytes = Number(written.stdout.trim().split('\n').pop());
      if (written.exitCode !== 0 || !Number.isFinite(writtenBytes) || writtenBytes <= 0) {
        throw new FaultlineError('E_DRIVER', `could not write ${file} in ${describeContainer(ref)}: ${(written.stderr || written.stdout).trim() || `exit ${written.exitCode}`}`, {
          hint: written.exitCode === 127 ? 'the image lacks sh, fallocate/head or stat' : 'does the path exist, and is it writable?',
        });
      }
      const after = await diskUsage(docker, selection.dockerHost, ref, args.path, ctx);
      ctx.log(`wrote ${formatBytes(writtenBytes)} to ${file} in ${describeContainer(ref)}; ${formatBytes(after.freeBytes)} of ${formatBytes(after.sizeBytes)} free (was ${formatBytes(before.freeBytes)})`);
      fills.push({
        ...refOf(ref),
        file,
        requestedBytes: requested,
        writtenBytes,
        filesystemBytes: before.sizeBytes,
        freeBeforeBytes: before.freeBytes,
        freeAfterBytes: after.freeBytes,
      });
    }
    return { ...containersOutput(selection), file, fills, filledAt: new Date().toISOString() };
  },
};

/** Removes the file from a running container; true when it was there. */
async function removeFileIn(docker: Docker, dockerHost: string, ref: ContainerRef, file: string, ctx: DockerContext): Promise<boolean> {
  const result = await execChecked(docker, dockerHost, ref, ['sh', '-c', 'if [ -e "$1" ]; then rm -f "$1" && echo removed; else echo absent; fi', 'faultline-unfill', file], {
    timeoutMs: 20_000,
    signal: ctx.signal,
    what: `rm ${file}`,
  });
  return result.stdout.includes('removed');
}

/** Whether a stopped container's filesystem still holds the file (HEAD on its archive endpoint). */
async function fileExistsInStopped(docker: Docker, dockerHost: string, ref: ContainerRef, file: string): Promise<boolean> {
  try {
    await docker.getContainer(ref.id).infoArchive({ path: file });
    return true;
  } catch (error) {
    if (isNotFound(error)) return false;
    throw dockerError(dockerHost, `cannot look for ${file} in ${describeContainer(ref)}`, error);
  }
}

export const removeFileUndo: DockerUndo<RemoveFileArgs> = {
  args: removeFileArgs,
  async run(args, ctx) {
    const docker = await dockerClient(args.docker, ctx.session);
    for (const ref of args.containers) {
      const info = await inspectForUndo(docker, args.docker, ref, ctx, `remove ${args.file} from`);
      if (!info) continue;
      if (info.State.Running && !info.State.Paused) {
        const removed = await removeFileIn(docker, args.docker, ref, args.file, ctx);
        ctx.log(removed ? `removed ${args.file} from ${describeContainer(ref)}` : `${args.file} is not in ${describeContainer(ref)}; nothing to remove`);
        continue;
      }
      // exec needs a running, unpaused container; a stopped one can still be looked into.
      if (!info.State.Running && !(await fileExistsInStopped(docker, args.docker, ref, args.file))) {
        ctx.log(`${describeContainer(ref)} is ${info.State.Status} and holds no ${args.file}; nothing to remove`);
        continue;
      }
      throw new FaultlineError('E_DRIVER', `${describeContainer(ref)} is ${info.State.Status} and still holds ${args.file}; the file can only be removed from a running container`, {
        hint: `start or unpause it, then run \`faultline recover\` (or: docker exec ${ref.name} rm -f ${args.file})`,
      });
    }
  },
};
