// Crash-style kills: the container's main process is signalled directly on the engine's host, as a
// crash or the kernel's OOM killer would end it. The Engine API's kill counts as a deliberate stop,
// after which Docker's restart policies never restart the container; a crash is what they exist for.
import { readFile } from 'node:fs/promises';
import type Docker from 'dockerode';
import { FaultlineError } from '../../core/errors.js';
import { engineCall } from './connection.js';
import { describeContainer, type ContainerRef } from './select.js';

/**
 * The host pid of the container's main process, checked through /proc/<pid>/cgroup to belong to
 * this container, so a pid this process cannot see (another pid namespace, a remote engine) or a
 * recycled one is never signalled.
 */
export async function mainProcessOf(docker: Docker, dockerHost: string, ref: ContainerRef): Promise<number> {
  const info = await engineCall(dockerHost, `cannot inspect ${describeContainer(ref)}`, () => docker.getContainer(ref.id).inspect());
  const pid = info.State.Pid;
  if (!info.State.Running || !pid) {
    throw new FaultlineError('E_DRIVER', `${describeContainer(ref)} is not running (status ${info.State.Status})`);
  }
  const cgroups = await readFile(`/proc/${pid}/cgroup`, 'utf8').catch(() => '');
  if (!cgroups.includes(info.Id)) {
    throw new FaultlineError('E_PREFLIGHT', `the main process of ${describeContainer(ref)} (host pid ${pid}) is not visible from here`, {
      hint: 'method: crash signals the process on the engine\'s host: run faultline there (not in a container, not against a remote engine), or use method: engine',
    });
  }
  return pid;
}

export function signalMainProcess(pid: number, signal: string, ref: ContainerRef): void {
  try {
    process.kill(pid, signal as NodeJS.Signals);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return; // it exited on its own meanwhile: the die event still comes
    throw new FaultlineError('E_DRIVER', `cannot send ${signal} to the main process of ${describeContainer(ref)} (pid ${pid}): ${code ?? String(error)}`, {
      hint: code === 'EPERM' ? 'method: crash needs permission to signal the container\'s processes: run as root or as their user' : undefined,
      cause: error,
    });
  }
}
