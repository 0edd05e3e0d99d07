// Where a command will write, checked before it does anything: a run that cannot write its journal,
// its reports or its ledger must say so (exit 2, with a hint) before a fault is applied, not end
// with an error after the system was broken and healed for nothing.
import { constants } from 'node:fs';
import { access, lstat, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { FaultlineError, errorMessage } from '../core/errors.js';
import { makeDirectory } from '../core/make-dir.js';

export type OutputKind = 'file' | 'folder';

function refuse(label: string, path: string, why: string, hint: string): FaultlineError {
  return new FaultlineError('E_INPUT', `${label}: cannot write ${path}: ${why}`, { hint });
}

/**
 * Checks that `path` can be written as a regular file (or used as a folder): its folder is created
 * when missing, and a file is created there and removed, so permissions, read-only mounts and
 * pseudo file systems (/proc, /sys) all answer for real. An existing device, pipe or socket is refused
 * for a file: a report must not stream into /dev/zero or block on a FIFO.
 */
export async function checkWritable(label: string, path: string, kind: OutputKind): Promise<void> {
  const folder = kind === 'folder' ? path : dirname(path);
  const existing = await lstat(path).catch(() => undefined);
  if (existing) {
    const info = existing.isSymbolicLink() ? await stat(path).catch(() => undefined) : existing;
    if (!info) throw refuse(label, path, 'it is a broken symbolic link', 'Remove the link or point it at a file that can be created.');
    if (kind === 'file' && info.isDirectory()) throw refuse(label, path, 'it is a folder', 'Give a file name, or a path that does not exist yet.');
    if (kind === 'file' && !info.isFile()) throw refuse(label, path, 'it is not a regular file (a device, pipe or socket)', 'Give the path of a regular file.');
    if (kind === 'folder' && !info.isDirectory()) throw refuse(label, path, 'it is not a folder', 'Give the path of a folder, or one that does not exist yet.');
    if (kind === 'file') {
      await access(path, constants.W_OK).catch((error: unknown) => {
        throw refuse(label, path, errorMessage(error), 'Check the file\'s permissions.');
      });
    }
  }
  try {
    await makeDirectory(folder);
  } catch (error) {
    throw refuse(label, path, `its folder ${folder} cannot be created (${(error as NodeJS.ErrnoException).code ?? errorMessage(error)})`, 'Choose a path in a folder you can write to, on a real disk.');
  }
  const probe = join(folder, `.faultline-write-check-${process.pid}`);
  try {
    await writeFile(probe, '', { flag: 'wx' });
  } catch (error) {
    throw refuse(label, path, `its folder ${folder} is not writable (${(error as NodeJS.ErrnoException).code ?? errorMessage(error)})`, 'Choose a path in a folder you can write to, or fix its permissions.');
  }
  await unlink(probe).catch(() => undefined);
}

/** A folder read from (recover's ledger): missing is fine (nothing in it), anything but a folder is not. */
export async function checkReadableFolder(label: string, path: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (info && !info.isDirectory()) {
    throw new FaultlineError('E_INPUT', `${label}: ${path} is not a folder`, { hint: 'Give the folder that holds the ledger (the run\'s --ledger-dir, .faultline by default), not a file in it.' });
  }
}
