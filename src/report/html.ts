// The HTML report: one self-contained file. One journal gives the page of that run (verdicts,
// timeline, windows, faults, probes); several give the history of their runs.
import type { Journal } from '../engine/journal.js';
import { FAULTLINE_VERSION } from '../version.js';
import { renderHistoryBody } from './html-history.js';
import { renderPage } from './html-page.js';
import { renderRunBody } from './html-run.js';
import type { ChartPayload } from './html-timeline.js';

/** What a page is made of before the shell wraps it: its title, body and the charts' data. */
export interface HtmlParts {
  title: string;
  body: string;
  data: { panels: ChartPayload[] };
}

export function htmlParts(journals: readonly Journal[]): HtmlParts {
  if (journals.length === 1) {
    const journal = journals[0]!;
    const { body, timeline } = renderRunBody(journal);
    return { title: `${journal.experiment.title}: faultline run ${journal.runId}`, body, data: { panels: [timeline] } };
  }
  const { body, panels, title } = renderHistoryBody(journals);
  return { title: `${title}: faultline`, body, data: { panels } };
}

/** The page of one run, or the history of several. */
export function renderHtml(journals: readonly Journal[]): string {
  const parts = htmlParts(journals);
  return renderPage({ ...parts, generator: `faultline ${FAULTLINE_VERSION}` });
}
