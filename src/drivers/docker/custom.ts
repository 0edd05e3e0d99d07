// A custom fault: any command run inside the chosen containers, with an optional command that
// undoes it (say, `iptables -A …` and `iptables -D …`, or `kill -STOP 1` and `kill -CONT 1`).
import { z } from 'zod';
import { durationSchema } from '../../core/duration.js';
import { FaultlineError } from '../../core/errors.js';
import type { DockerAction, DockerUndo } from './select.js';
import { dockerClient, undoConnectionSchema } from './connection.js';
import { execChecked } from './exec.js';
import type { Selection } from './select.js';
import { containersOutput, emptyOutput, inspectForUndo, prepareSelection, selectionOf, withSelector, recheckContainers } from './lifecycle.js';
import { containerRefSchema, describeContainer } from './select.js';

const commandSchema = z
  .union([z.string().min(1).transform((line) => ['sh', '-c', line]), z.array(z.union([z.string(), z.number()]).transform(String)).min(1)])
  .meta({ description: 'A command line run by sh -c inside the container, or an argv list run directly.' });

const execArgs = withSelector({
  command: commandSchema,
  undo: commandSchema.optional().meta({ description: 'The command that undoes it, run in the same containers when the fault ends; without it the fault is recorded as irreversible.' }),
  user: z.string().min(1).optional().meta({ description: 'User to run as (docker exec -u).' }),
  timeout: durationSchema.default(30_000).meta({ description: 'Longest each command may run (default 30s); then it counts as failed.' }),
});
type ExecArgs = z.output<typeof execArgs>;

const execUndoArgs = z.strictObject({
  docker: undoConnectionSchema,
  containers: z.array(containerRefSchema),
  command: z.array(z.string()).min(1),
  user: z.string().optional(),
  timeoutMs: z.number().positive(),
});
type ExecUndoArgs = z.output<typeof execUndoArgs>;

export const exec: DockerAction<ExecArgs, Selection> = {
  description: 'Run a custom fault command inside containers (docker exec); a non-zero exit fails the fault. An optional undo command reverses it.',
  args: execArgs,
  reversible: true,
  recheck: (_args, prepared, ctx) => recheckContainers(prepared.state, ctx),
  prepare: (args, ctx) =>
    prepareSelection(args, ctx, 'exec', args.undo
      ? (selection) => ({
          driver: 'docker',
          op: 'exec',
          args: {
            docker: selection.dockerHost,
            containers: selection.containers.map((c) => ({ id: c.id, name: c.name })),
            command: args.undo!,
            ...(args.user ? { user: args.user } : {}),
            timeoutMs: args.timeout,
          } satisfies ExecUndoArgs,
        })
      : null),
  async apply(args, prepared, ctx) {
    const selection = selectionOf(prepared);
    if (selection.containers.length === 0) return { ...emptyOutput(selection), results: [] };
    const docker = await dockerClient(selection.dockerHost, ctx.session);
    const results = [];
    for (const ref of selection.containers) {
      const result = await execChecked(docker, selection.dockerHost, ref, args.command, {
        timeoutMs: args.timeout,
        signal: ctx.signal,
        what: args.command.join(' '),
        ...(args.user ? { user: args.user } : {}),
      });
      ctx.log(`ran ${args.command.join(' ')} in ${describeContainer(ref)}`);
      results.push({ id: ref.id, name: ref.name, exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr });
    }
    return { ...containersOutput(selection), results };
  },
};

export const execUndo: DockerUndo<ExecUndoArgs> = {
  args: execUndoArgs,
  async run(args, ctx) {
    const docker = await dockerClient(args.docker, ctx.session);
    for (const ref of args.containers) {
      const info = await inspectForUndo(docker, args.docker, ref, ctx, `run ${args.command.join(' ')} in`);
      if (!info) continue;
      if (!info.State.Running || info.State.Paused) {
        throw new FaultlineError('E_DRIVER', `${describeContainer(ref)} is ${info.State.Status}; the undo command ${args.command.join(' ')} needs it running`, {
          hint: `start or unpause it, then run \`faultline recover\``,
        });
      }
      await execChecked(docker, args.docker, ref, args.command, { timeoutMs: args.timeoutMs, signal: ctx.signal, what: args.command.join(' '), ...(args.user ? { user: args.user } : {}) });
      ctx.log(`ran the undo ${args.command.join(' ')} in ${describeContainer(ref)}`);
    }
  },
};
