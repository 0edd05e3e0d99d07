// Reading a saved journal back for `faultline report`: a missing file, a file that is not JSON, a
// journal of another version or something that is not a journal at all each get a clear error.
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { FaultlineError, errorMessage } from '../core/errors.js';
import { JOURNAL_VERSION, RUN_STATUSES, type Journal } from '../engine/journal.js';


// Only what every reporter relies on is checked; the rest is read as written. `windows` and
// `verdicts` are younger than journalVersion 1, so journals written before them still load.
const journalShape = z.looseObject({
  journalVersion: z.literal(JOURNAL_VERSION),
  runId: z.string(),
  experiment: z.looseObject({ file: z.string(), title: z.string() }),
  startedAt: z.string(),
  durationMs: z.number(),
  status: z.enum(RUN_STATUSES),
  reason: z.string(),
  hypothesis: z.looseObject({}),
  activities: z.array(z.looseObject({ key: z.string(), phase: z.string(), kind: z.string(), name: z.string(), status: z.string() })),
  faults: z.array(z.looseObject({ key: z.string(), name: z.string(), status: z.string() })),
  windows: z.array(z.looseObject({ name: z.string(), kind: z.string() })).default([]),
  verdicts: z.array(z.looseObject({ name: z.string(), result: z.string(), evidence: z.looseObject({ summary: z.string() }) })).default([]),
});

const JOURNAL_HINT = 'a journal is the JSON file `faultline run` writes for every run; its path is printed at the end (by default .faultline/journals/<run id>.json)';

/** Parses a journal's text; `source` names it in errors. */
export function parseJournal(text: string, source: string): Journal {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new FaultlineError('E_INPUT', `${source} is not JSON: ${errorMessage(error)}`, { hint: JOURNAL_HINT });
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data) || !('journalVersion' in data)) {
    throw new FaultlineError('E_INPUT', `${source} is not a faultline journal: it has no journalVersion`, { hint: JOURNAL_HINT });
  }
  const version = (data as { journalVersion: unknown }).journalVersion;
  if (version !== JOURNAL_VERSION) {
    throw new FaultlineError('E_INPUT', `${source} has journalVersion ${JSON.stringify(version)}; this faultline reads journalVersion ${JOURNAL_VERSION}`, {
      hint: typeof version === 'number' && version > JOURNAL_VERSION ? 'render it with the faultline version that wrote it (see its "faultline" field), or upgrade faultline' : 'the file was not written by faultline, or it was edited',
    });
  }
  const parsed = journalShape.safeParse(data);
  if (!parsed.success) {
    const problems = parsed.error.issues.slice(0, 3).map((issue) => `${issue.path.join('.') || '(top level)'}: ${issue.message}`);
    const more = parsed.error.issues.length > 3 ? ` (and ${parsed.error.issues.length - 3} more)` : '';
    throw new FaultlineError('E_INPUT', `${source} is not a complete faultline journal: ${problems.join('; ')}${more}`, {
      hint: 'the file may be truncated or edited; a journal is written whole, at the end of a run',
    });
  }
  return parsed.data as unknown as Journal;
}

/** Journal files named on the command line, with folders expanded to the .json files they hold. */
export async function expandJournalPaths(paths: readonly string[], cwd: string): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    const absolute = resolve(cwd, path);
    const info = await stat(absolute).catch(() => undefined);
    if (!info?.isDirectory()) {
      files.push(absolute);
      continue;
    }
    const found = (await readdir(absolute)).filter((name) => name.endsWith('.json')).sort();
    if (found.length === 0) throw new FaultlineError('E_INPUT', `${path}: no journals (*.json) in this folder`, { hint: JOURNAL_HINT });
    files.push(...found.map((name) => join(absolute, name)));
  }
  return files;
}

/** Reads and checks a journal file. */
/** A journal larger than this is not one faultline wrote (a 10-minute run's is well under 1 MiB). */
const MAX_JOURNAL_BYTES = 256 * 1024 * 1024;

export async function readJournal(path: string): Promise<Journal> {
  let text: string;
  try {
    // A device or a FIFO would be read for ever (/dev/zero) or block (a pipe nobody writes to).
    const info = await stat(path);
    if (!info.isFile() && !info.isDirectory()) throw new FaultlineError('E_FILE', `cannot read the journal ${path}: it is not a regular file (a device, pipe or socket)`, { hint: JOURNAL_HINT });
    if (info.size > MAX_JOURNAL_BYTES) throw new FaultlineError('E_FILE', `cannot read the journal ${path}: it is ${(info.size / 1024 / 1024).toFixed(0)} MiB, more than any journal faultline writes`, { hint: JOURNAL_HINT });
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof FaultlineError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : errorMessage(error);
    throw new FaultlineError('E_FILE', `cannot read the journal ${path}: ${why}`, { hint: JOURNAL_HINT });
  }
  return parseJournal(text, path);
}
