// The `docker` driver: container faults through the Docker Engine API (dockerode): kill, stop, pause,
// restart, network partitions, CPU/memory limits, disk fill and custom exec, each with its undo as
// data, and probes for running, health, restarts, healthy counts and the time to recover.
import { defineDriver } from '../contract.js';
import { pingEngine, type DockerSession } from './connection.js';
import { exec, execUndo } from './custom.js';
import { kill, pause, restart, startUndo, stop, unpauseUndo } from './lifecycle.js';
import { networkConnectUndo, networkDisconnect } from './network.js';
import { health, healthyCount, recovery, restarts, running } from './probes.js';
import { fillDisk, limit, removeFileUndo, restoreLimitsUndo } from './resources.js';
import { dockerHostFor, targetSettings } from './select.js';

export const dockerDriver = defineDriver({
  name: 'docker',
  description: 'Docker containers through the Engine API: kill, stop, pause, restart, network partitions, CPU/memory limits, disk fill, custom exec.',
  target: targetSettings,
  session: (): DockerSession => ({ clients: new Map(), readied: new WeakMap() }),
  async preflight(ctx) {
    await pingEngine(dockerHostFor(ctx), ctx.session, ctx.signal);
  },
  defaultProbe: 'running',
  actions: {
    kill,
    stop,
    pause,
    restart,
    'network-disconnect': networkDisconnect,
    limit,
    'fill-disk': fillDisk,
    exec,
  },
  probes: { running, health, restarts, 'healthy-count': healthyCount, recovery },
  undos: {
    start: startUndo,
    unpause: unpauseUndo,
    'network-connect': networkConnectUndo,
    'restore-limits': restoreLimitsUndo,
    'remove-file': removeFileUndo,
    exec: execUndo,
  },
});
