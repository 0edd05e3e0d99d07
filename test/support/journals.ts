// The synthetic journals the report tests render (src/report/__fixtures__): fixed times, so the
// golden files stay byte for byte the same.
import { join } from 'node:path';
import { readJournal } from '../../src/report/journal-file.js';
import type { Journal } from '../../src/engine/journal.js';
import { REPO_ROOT } from './cli.js';

export const REPORT_DIR = join(REPO_ROOT, 'src', 'report');

/** passed, four verdicts pass; deviated, timeouts fails and probes missed; run error, a fault failed to apply and verdicts not exercised; a journal without workload or verdicts. */
export const JOURNAL_FIXTURES = ['passed-verdicts', 'deviated-timeouts', 'run-error-not-exercised', 'no-workload'] as const;
export type JournalFixture = (typeof JOURNAL_FIXTURES)[number];

export const fixturePath = (name: JournalFixture) => join(REPORT_DIR, '__fixtures__', `${name}.journal.json`);
export const goldenPath = (file: string) => join(REPORT_DIR, '__golden__', file);

export function loadFixture(name: JournalFixture): Promise<Journal> {
  return readJournal(fixturePath(name));
}
