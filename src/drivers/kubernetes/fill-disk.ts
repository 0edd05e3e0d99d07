// kubernetes.fill-disk: write a file of the given size in a container, through exec (so only where
// the cluster allows exec into the pod); the undo removes the file. The file name carries the run id.
import { createHash } from 'node:crypto';
import { Writable } from 'node:stream';
import type { V1Status } from '@kubernetes/client-node';
import { z } from 'zod';
import { FaultlineError, errorMessage } from '../../core/errors.js';
import { connect, connectionArgsShape, kubeError, reconnect, statusOf, type Cluster, type KubernetesAction, type KubernetesUndo } from './connection.js';
import { describePod, podSelectionShape, selectPods } from './targets.js';

const MIB = 1024 * 1024;
const EXEC_TIMEOUT_MS = 120_000;
const EXEC_HINT = 'fill-disk needs exec into the pod (RBAC pods/exec, a kubelet that serves exec, a shell in the image); fake kwok nodes have none';

/** "512Mi", "1Gi", "100M", or a number of MiB; yields bytes. */
const sizeSchema = z
  .union([z.int().positive(), z.string()])
  .transform((value, ctx) => {
    if (typeof value === 'number') return value * MIB;
    const match = /^(\d+)(Ki|Mi|Gi|K|M|G)$/.exec(value.trim());
    if (!match) {
      ctx.addIssue({ code: 'custom', message: `expected a size like 100Mi or 1Gi, got "${value}"` });
      return z.NEVER;
    }
    const units: Record<string, number> = { Ki: 1024, Mi: MIB, Gi: 1024 * MIB, K: 1000, M: 1000 ** 2, G: 1000 ** 3 };
    return Number(match[1]) * units[match[2]!]!;
  })
  .meta({ description: 'Size of the file: 100Mi, 1Gi, 500M, or a number of MiB.' });

const fillDiskArgs = z.strictObject({
  ...podSelectionShape,
  container: z.string().min(1).optional().meta({ description: "Container to exec into; default: the pod's first." }),
  path: z
    .string()
    .regex(/^\/[-\w./]*$/, 'expected an absolute path of letters, digits, -, _, . and /')
    .default('/tmp')
    .meta({ description: 'Directory to write the file in (default /tmp); its filesystem is the one filled.' }),
  size: sizeSchema,
});
type FillDiskArgs = z.output<typeof fillDiskArgs>;

const podRef = z.strictObject({ name: z.string().min(1), uid: z.string().min(1), container: z.string().min(1) });
const removeFileArgs = z.strictObject({
  ...connectionArgsShape,
  namespace: z.string().min(1),
  pods: z.array(podRef),
  file: z.string().regex(/^\/[-\w./]*$/),
});
type PodRef = z.output<typeof podRef>;

/** Runs a command in a container and resolves with its output; a non-zero exit or a refused exec rejects. */
async function execIn(cluster: Cluster, namespace: string, pod: PodRef, command: string[], signal: AbortSignal): Promise<string> {
  let output = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (output.length < 4096) output += chunk.toString();
      done();
    },
  });
  const where = `pod ${namespace}/${pod.name} container ${pod.container}`;
  return new Promise<string>((resolve, reject) => {
    let socket: { close(): void } | undefined;
    const fail = (error: FaultlineError) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      socket?.close();
      reject(error);
    };
    const onAbort = () => fail(new FaultlineError('E_TIMEOUT', `exec into ${where} was cancelled`));
    const timer = setTimeout(() => fail(new FaultlineError('E_TIMEOUT', `exec into ${where} gave no result within ${EXEC_TIMEOUT_MS / 1000}s`)), EXEC_TIMEOUT_MS);
    signal.addEventListener('abort', onAbort, { once: true });
    const onStatus = (status: V1Status) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      if (status.status === 'Success') resolve(output);
      else if (status.reason === 'NonZeroExitCode') reject(new FaultlineError('E_DRIVER', `${command.join(' ')} failed in ${where}: ${status.message}${output ? `: ${output.trim()}` : ''}`));
      // Any other failure is the exec channel itself: the kubelet could not be reached or refused it.
      else reject(new FaultlineError('E_DRIVER', `cannot exec into ${where}: ${status.message ?? status.reason}`, { hint: EXEC_HINT }));
    };
    new cluster.library.Exec(cluster.config)
      .exec(namespace, pod.name, pod.container, command, sink, sink, null, false, onStatus)
      .then((ws) => (socket = ws))
      .catch((error: unknown) =>
        fail(
          new FaultlineError('E_DRIVER', `cannot exec into ${where}: ${errorMessage(error)}`, {
            hint: EXEC_HINT,
            cause: error,
          }),
        ),
      );
  });
}

/** Printed by fillCommand when the filesystem ran out of space before the file reached its size. */
export const FILLED_UP = 'faultline: filesystem full';

export function fillCommand(file: string, bytes: number): string[] {
  const mib = Math.ceil(bytes / MIB);
  // fallocate is instant where the filesystem supports it; dd writes real blocks everywhere else.
  // A size above the free space is the fault doing its job: dd writes until ENOSPC and the filesystem
  // is full, which is a success (seen on a real node; kwok's pods have no filesystem to fill).
  return [
    'sh',
    '-c',
    [
      `fallocate -l ${bytes} '${file}' 2>/dev/null && exit 0`,
      `out=$(dd if=/dev/zero of='${file}' bs=1048576 count=${mib} 2>&1) && exit 0`,
      `case "$out" in *'No space left on device'*) echo '${FILLED_UP}'; exit 0;; esac`,
      'echo "$out"; exit 1',
    ].join('\n'),
  ];
}

export const fillDisk: KubernetesAction<FillDiskArgs, { pods: PodRef[]; file: string }> = {
  description: 'Fill a filesystem in selected pods by writing a file of the given size through exec (where the cluster allows exec); the undo removes the file.',
  args: fillDiskArgs,
  reversible: true,
  async prepare(args, ctx) {
    const cluster = await connect(ctx, [args.namespace]);
    const { selected } = await selectPods(cluster, args, ctx, 'fill-disk');
    const digest = createHash('sha256').update(`${args.path}|${args.size}`).digest('hex').slice(0, 8);
    const file = `${args.path.replace(/\/+$/, '')}/faultline-fill-${ctx.runId.replace(/[^\w-]/g, '-')}-${digest}`;
    const pods: PodRef[] = selected.map((pod) => ({
      name: pod.metadata!.name!,
      uid: pod.metadata!.uid!,
      container: args.container ?? pod.spec!.containers[0]!.name,
    }));
    for (const [index, pod] of selected.entries()) {
      if (!pod.spec!.containers.some((c) => c.name === pods[index]!.container)) {
        throw new FaultlineError('E_PREFLIGHT', `${describePod(pod)} has no container "${pods[index]!.container}"`, {
          hint: `its containers: ${pod.spec!.containers.map((c) => c.name).join(', ')}`,
        });
      }
    }
    return {
      targets: pods.map((pod) => `${file} (${Math.ceil(args.size / MIB)} MiB) in pod ${args.namespace}/${pod.name} container ${pod.container}`),
      undo: { driver: 'kubernetes', op: 'remove-file', args: { ...cluster.connection, namespace: args.namespace, pods, file } },
      state: { pods, file },
    };
  },
  async apply(args, prepared, ctx) {
    const { pods, file } = prepared.state;
    const cluster = await connect(ctx, [args.namespace]);
    const filledUp: string[] = [];
    for (const pod of pods) {
      const output = await execIn(cluster, args.namespace, pod, fillCommand(file, args.size), ctx.signal);
      if (output.includes(FILLED_UP)) {
        filledUp.push(pod.name);
        ctx.log(`filled the filesystem of ${args.path} in pod ${args.namespace}/${pod.name} before ${file} reached ${Math.ceil(args.size / MIB)} MiB`);
      } else {
        ctx.log(`wrote ${Math.ceil(args.size / MIB)} MiB to ${file} in pod ${args.namespace}/${pod.name}`);
      }
    }
    return { file, bytes: args.size, pods: pods.map((pod) => pod.name), filledUp };
  },
};

export const removeFile: KubernetesUndo<z.output<typeof removeFileArgs>> = {
  args: removeFileArgs,
  async run(args, ctx) {
    const cluster = await reconnect(args, ctx.signal);
    for (const pod of args.pods) {
      const current = await cluster.core.readNamespacedPod({ namespace: args.namespace, name: pod.name }).catch((error: unknown) => {
        if (statusOf(error) === 404) return undefined;
        throw kubeError(error, `reading pod ${args.namespace}/${pod.name}`, cluster);
      });
      if (!current || current.metadata?.uid !== pod.uid) {
        ctx.log(`pod ${args.namespace}/${pod.name} is gone (or replaced); its file went with it, unless the path was on a persistent volume`);
        continue;
      }
      await execIn(cluster, args.namespace, pod, ['rm', '-f', args.file], ctx.signal);
      ctx.log(`removed ${args.file} from pod ${args.namespace}/${pod.name}`);
    }
  },
};
