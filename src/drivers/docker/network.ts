// Network partitions: disconnect containers from a named Docker network, so services that only
// share that network can no longer reach each other. The undo reconnects each one with the aliases
// and static addresses it had, read before the fault.
import type Docker from 'dockerode';
import { z } from 'zod';
import { FaultlineError } from '../../core/errors.js';
import type { DockerContext, DockerAction, DockerUndo } from './select.js';
import { dockerClient, dockerError, engineCall, engineMessage, isNotFound, undoConnectionSchema } from './connection.js';
import { containersOutput, emptyOutput, inspectForUndo, selectionOf, withSelector, recheckContainers } from './lifecycle.js';
import { BLACK_HOLE, judgeContainerReach, readContainerBytes } from './reach.js';
import { containerRefSchema, describeContainer, refOf, selectContainers, shortId, type ContainerRef, type Selection } from './select.js';

/** What an endpoint was before the fault: enough to put it back as it was. */
const endpointSchema = z.strictObject({
  container: containerRefSchema,
  aliases: z.array(z.string()),
  ipv4Address: z.string().optional(),
  ipv6Address: z.string().optional(),
});
type Endpoint = z.output<typeof endpointSchema>;

const reconnectArgs = z.strictObject({
  docker: undoConnectionSchema,
  network: z.strictObject({ id: z.string().min(1), name: z.string() }),
  endpoints: z.array(endpointSchema),
});
type ReconnectArgs = z.output<typeof reconnectArgs>;

/** The endpoint settings of a network connection, which @types/dockerode leaves as `any`. */
interface EndpointSettings {
  NetworkID: string;
  Aliases?: string[] | null;
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string } | null;
}

/** The container's endpoint on the network, found by network id. */
function endpointOn(info: Docker.ContainerInspectInfo, networkId: string): EndpointSettings | undefined {
  return Object.values(info.NetworkSettings.Networks as Record<string, EndpointSettings>).find((endpoint) => endpoint.NetworkID === networkId);
}

/**
 * Aliases to give back on reconnect. The engine adds the container's short id itself on every
 * connect, so passing it back would list it twice.
 */
function userAliases(endpoint: EndpointSettings, containerId: string): string[] {
  return (endpoint.Aliases ?? []).filter((alias) => alias !== shortId(containerId));
}

const disconnectArgs = withSelector({
  network: z.string().min(1).meta({ description: 'The network (name or id) to cut the containers off.' }),
  force: z.boolean().default(false).meta({ description: 'Force the disconnect (docker network disconnect -f).' }),
});
type DisconnectArgs = z.output<typeof disconnectArgs>;

interface DisconnectState extends Selection {
  network: { id: string; name: string };
  endpoints: Endpoint[];
}

async function inspectNetwork(docker: Docker, dockerHost: string, network: string): Promise<{ id: string; name: string }> {
  try {
    const info = (await docker.getNetwork(network).inspect()) as { Id: string; Name: string };
    return { id: info.Id, name: info.Name };
  } catch (error) {
    if (isNotFound(error)) {
      throw new FaultlineError('E_PREFLIGHT', `there is no Docker network "${network}"`, { hint: 'docker network ls lists them' });
    }
    throw dockerError(dockerHost, `cannot inspect network ${network}`, error);
  }
}

export const networkDisconnect: DockerAction<DisconnectArgs, DisconnectState> = {
  description:
    'Disconnect containers from a Docker network: a partition between services that share only that network. Undone by reconnecting them with the same aliases and static addresses.',
  args: disconnectArgs,
  reversible: true,
  recheck: (_args, prepared, ctx) => recheckContainers(prepared.state, ctx),
  async prepare(args, ctx) {
    const selection = await selectContainers(args, ctx, 'network-disconnect');
    const docker = await dockerClient(selection.dockerHost, ctx.session);
    const network = await inspectNetwork(docker, selection.dockerHost, args.network);
    const endpoints: Endpoint[] = [];
    for (const ref of selection.containers) {
      const info = await engineCall(selection.dockerHost, `cannot inspect ${describeContainer(ref)}`, () => docker.getContainer(ref.id).inspect({ abortSignal: ctx.signal }));
      const endpoint = endpointOn(info, network.id);
      if (!endpoint) {
        const on = Object.keys(info.NetworkSettings.Networks).join(', ') || 'none';
        throw new FaultlineError('E_PREFLIGHT', `${describeContainer(ref)} is not connected to network ${network.name} (it is on: ${on})`, {
          hint: 'name a network the containers share, or narrow the selector',
        });
      }
      endpoints.push({
        container: refOf(ref),
        aliases: userAliases(endpoint, ref.id),
        ...(endpoint.IPAMConfig?.IPv4Address ? { ipv4Address: endpoint.IPAMConfig.IPv4Address } : {}),
        ...(endpoint.IPAMConfig?.IPv6Address ? { ipv6Address: endpoint.IPAMConfig.IPv6Address } : {}),
      });
    }
    const state: DisconnectState = { ...selection, network, endpoints };
    return {
      targets: selection.containers.map((ref) => `${describeContainer(ref)} from network ${network.name}`),
      undo: { driver: 'docker', op: 'network-connect', args: { docker: selection.dockerHost, network, endpoints } satisfies ReconnectArgs },
      state,
    };
  },
  effect: () => BLACK_HOLE,
  readReach: (_args, prepared, ctx) => readContainerBytes(prepared, ctx.signal, ctx.session),
  // Cut off the network, a container's counters stand still: only the bytes before the cut can tell.
  judgeReach: (_args, readings) => judgeContainerReach('disconnect', true, readings),
  async apply(args, prepared, ctx) {
    const selection = selectionOf(prepared);
    const state = prepared.state;
    if (selection.containers.length === 0) return { ...emptyOutput(selection), network: args.network, disconnectedAt: null };
    const docker = await dockerClient(selection.dockerHost, ctx.session);
    const network = docker.getNetwork(state.network.id);
    for (const ref of selection.containers) {
      await engineCall(selection.dockerHost, `cannot disconnect ${describeContainer(ref)} from ${state.network.name}`, () =>
        network.disconnect({ Container: ref.id, Force: args.force }),
      );
    }
    const disconnectedAt = new Date().toISOString();
    for (const ref of selection.containers) {
      const info = await engineCall(selection.dockerHost, `cannot inspect ${describeContainer(ref)}`, () => docker.getContainer(ref.id).inspect());
      if (endpointOn(info, state.network.id)) throw new FaultlineError('E_DRIVER', `${describeContainer(ref)} is still on ${state.network.name} after the disconnect`);
      ctx.log(`disconnected ${describeContainer(ref)} from ${state.network.name}`);
    }
    return { ...containersOutput(selection), network: state.network.name, networkId: state.network.id, disconnectedAt };
  },
};

async function reconnect(docker: Docker, args: ReconnectArgs, endpoint: Endpoint, ctx: DockerContext): Promise<void> {
  const ref: ContainerRef = endpoint.container;
  const info = await inspectForUndo(docker, args.docker, ref, ctx, 'reconnect');
  if (!info) return;
  if (endpointOn(info, args.network.id)) {
    ctx.log(`${describeContainer(ref)} is already on ${args.network.name}`);
    return;
  }
  const ipam = {
    ...(endpoint.ipv4Address ? { IPv4Address: endpoint.ipv4Address } : {}),
    ...(endpoint.ipv6Address ? { IPv6Address: endpoint.ipv6Address } : {}),
  };
  try {
    await docker.getNetwork(args.network.id).connect({
      Container: ref.id,
      EndpointConfig: { Aliases: endpoint.aliases, ...(Object.keys(ipam).length > 0 ? { IPAMConfig: ipam } : {}) },
    });
  } catch (error) {
    if (isNotFound(error) && /network/i.test(engineMessage(error))) {
      ctx.log(`network ${args.network.name} no longer exists; ${describeContainer(ref)} cannot be reconnected to it`);
      return;
    }
    throw dockerError(args.docker, `cannot reconnect ${describeContainer(ref)} to ${args.network.name}`, error);
  }
  ctx.log(`reconnected ${describeContainer(ref)} to ${args.network.name}${endpoint.aliases.length ? ` with aliases ${endpoint.aliases.join(', ')}` : ''}`);
}

export const networkConnectUndo: DockerUndo<ReconnectArgs> = {
  args: reconnectArgs,
  async run(args, ctx) {
    const docker = await dockerClient(args.docker, ctx.session);
    for (const endpoint of args.endpoints) await reconnect(docker, args, endpoint, ctx);
  },
};
