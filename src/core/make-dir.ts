// Creating a folder and its parents. Node's own `mkdir(path, { recursive: true })` never returns
// when the file system answers ENOENT for a parent that exists (procfs does: `/proc/new` loops at
// full CPU in Node 20, 22 and 24), and a path is user input here (`--ledger-dir`, `--journal`). This
// walk is bounded by the path's depth and ends with the file system's own error.
import { mkdirSync, statSync } from 'node:fs';
import { mkdir, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

/** The folders from the nearest one that may be missing up to `path`, deepest last: [a, a/b, a/b/c]. */
function chain(path: string): string[] {
  const folders: string[] = [];
  for (let current = path; ; current = dirname(current)) {
    folders.unshift(current);
    if (dirname(current) === current) return folders;
  }
}

function mkdirError(code: string, path: string, syscall = 'mkdir'): NodeJS.ErrnoException {
  const error: NodeJS.ErrnoException = new Error(`${code}: cannot create folder, ${syscall} '${path}'`);
  error.code = code;
  error.path = path;
  error.syscall = syscall;
  return error;
}

/** Like `mkdir -p`: creates `path` and its missing parents; an existing folder is fine. */
export async function makeDirectory(path: string, mode?: number): Promise<void> {
  // The common cases in one call: the folder exists, or only it is missing.
  try {
    await mkdir(path, mode === undefined ? undefined : { mode });
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && (await stat(path).catch(() => undefined))?.isDirectory()) return;
    if (code !== 'ENOENT' && code !== 'EEXIST') throw error;
  }
  for (const folder of chain(path)) {
    const info = await stat(folder).catch(() => undefined);
    if (info?.isDirectory()) continue;
    if (info) throw mkdirError('ENOTDIR', folder);
    try {
      await mkdir(folder, mode === undefined ? undefined : { mode });
    } catch (error) {
      // Another process made it between the stat and the mkdir.
      if ((error as NodeJS.ErrnoException).code === 'EEXIST' && (await stat(folder).catch(() => undefined))?.isDirectory()) continue;
      throw error;
    }
  }
}

/** The synchronous `makeDirectory`. */
export function makeDirectorySync(path: string, mode?: number): void {
  try {
    mkdirSync(path, mode === undefined ? undefined : { mode });
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'EEXIST') throw error;
  }
  for (const folder of chain(path)) {
    let info: ReturnType<typeof statSync> | undefined;
    try {
      info = statSync(folder);
    } catch {
      info = undefined;
    }
    if (info?.isDirectory()) continue;
    if (info) throw mkdirError('ENOTDIR', folder);
    try {
      mkdirSync(folder, mode === undefined ? undefined : { mode });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
        try {
          if (statSync(folder).isDirectory()) continue;
        } catch {
          // Fall through to the mkdir's own error.
        }
      }
      throw error;
    }
  }
}
