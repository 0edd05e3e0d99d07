// Files that readers never see half-written: write beside the target, then rename over it.
import { lstat, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { makeDirectory } from './make-dir.js';

/**
 * Writes to a temporary file beside the target and renames it: readers never see half a journal.
 * Only a regular file (or nothing) is replaced: the rename would otherwise swap a device such as
 * /dev/null for a plain file, as root, for every other program on the machine.
 */
export async function writeFileAtomically(path: string, text: string): Promise<void> {
  const existing = await lstat(path).catch(() => undefined);
  const target = existing?.isSymbolicLink() ? await stat(path).catch(() => undefined) : existing;
  if (target && !target.isFile()) {
    const error: NodeJS.ErrnoException = new Error(`${target.isDirectory() ? 'EISDIR: it is a folder' : 'EINVAL: it is not a regular file (a device, pipe or socket)'}, '${path}'`);
    error.code = target.isDirectory() ? 'EISDIR' : 'EINVAL';
    error.path = path;
    throw error;
  }
  await makeDirectory(dirname(path));
  const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(temporary, text);
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}
