// `faultline report`: renders saved journals again, in any format, to stdout or a file; and the
// report files `faultline run` writes at its end (--junit, --markdown, the GitHub job summary).
import { appendFile } from 'node:fs/promises';
import { Chalk } from 'chalk';
import { resolve } from 'node:path';
import { errorMessage, FaultlineError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { writeFileAtomically } from '../core/atomic-file.js';
import type { Journal } from '../engine/journal.js';
import { expandJournalPaths, readJournal } from '../report/journal-file.js';
import { renderJson } from '../report/json.js';
import { renderHtml } from '../report/html.js';
import { renderJunit } from '../report/junit.js';
import { renderMarkdown } from '../report/markdown.js';
import { renderSummary } from '../report/terminal.js';
import { colorsFor } from './colors.js';
import { writeLine, type CliIo } from './io.js';
import { REPORT_FORMATS, type ReportFormat } from './report-formats.js';
import { checkWritable } from './outputs.js';

export { REPORT_FORMATS, type ReportFormat };

export interface ReportFlags {
  format?: ReportFormat;
  output?: string;
}

async function writeReportFile(flag: string, path: string, text: string): Promise<void> {
  try {
    await writeFileAtomically(path, text);
  } catch (error) {
    throw new FaultlineError('E_FILE', `${flag}: cannot write ${path}: ${errorMessage(error)}`, { hint: 'Check that the folder can be created and written to, and that the path is a regular file.' });
  }
}

export async function reportCommand(paths: string[], flags: ReportFlags, io: CliIo): Promise<number> {
  const format = flags.format ?? 'text';
  const files = await expandJournalPaths(paths, io.cwd);
  const journals: Journal[] = [];
  for (const file of files) journals.push(await readJournal(file));
  const output = flags.output === undefined ? undefined : resolve(io.cwd, flags.output);
  if (format === 'html' && output === undefined && io.stdout.isTTY) {
    throw new FaultlineError('E_INPUT', '--format html writes a whole page: give it a file with --output', { hint: 'faultline report journals/ --format html --output report.html' });
  }
  if (output !== undefined) await checkWritable('--output', output, 'file');
  const render = (some: readonly Journal[], names: readonly string[]): string => {
    switch (format) {
      case 'junit':
        return renderJunit(some);
      case 'markdown':
        return renderMarkdown(some, { cwd: io.cwd });
      case 'json':
        return renderJson(some);
      case 'html':
        return renderHtml(some);
      case 'text': {
        // Colour only when printing to a terminal, never into a file.
        const colors = output === undefined ? colorsFor(io.stdout, io.env) : new Chalk({ level: 0 });
        return some.map((journal, i) => renderSummary(journal, colors, names[i])).join('');
      }
    }
  };
  let text: string;
  try {
    text = render(journals, files);
  } catch (error) {
    // The journals passed the shape check, yet a field deep inside is not what faultline writes (an
    // edited or damaged file): name the file, exit 2, never a stack trace.
    if (error instanceof FaultlineError) throw error;
    const culprit = files.find((file, i) => {
      try {
        render([journals[i]!], [file]);
        return false;
      } catch {
        return true;
      }
    });
    throw new FaultlineError('E_INPUT', `${culprit ?? files.join(', ')} cannot be rendered as ${format}: it holds a value faultline does not write there (${errorMessage(error)})`, {
      hint: 'the journal was edited or damaged; render it as `faultline run` wrote it, or run the experiment again',
    });
  }
  if (output === undefined) {
    io.stdout.write(text);
  } else {
    await writeReportFile('--output', output, text);
    writeLine(io.stderr, `${format} report: ${output}`);
  }
  return ExitCode.passed;
}

/** One run's HTML page and where it goes. */
export interface RunHtml {
  journal: Journal;
  path: string;
}

/**
 * The report files of a `faultline run`, written once all its experiments ran: one JUnit file with
 * a testsuite per experiment, one Markdown file, and the Markdown appended to GitHub's job summary
 * when GITHUB_STEP_SUMMARY is set (GitHub Actions sets it for every step).
 */
export async function writeRunReports(journals: readonly Journal[], flags: { junit?: string; markdown?: string; html?: readonly RunHtml[] }, io: CliIo): Promise<void> {
  if (journals.length === 0) return;
  const dim = colorsFor(io.stdout, io.env).dim;
  for (const { journal, path } of flags.html ?? []) {
    await writeReportFile('--html', path, renderHtml([journal]));
    writeLine(io.stdout, dim(`html: ${path}`));
  }
  if (flags.junit) {
    const path = resolve(io.cwd, flags.junit);
    await writeReportFile('--junit', path, renderJunit(journals));
    writeLine(io.stdout, dim(`junit: ${path}`));
  }
  const summaryFile = io.env.GITHUB_STEP_SUMMARY;
  if (!flags.markdown && !summaryFile) return;
  const markdown = renderMarkdown(journals, { cwd: io.cwd });
  if (flags.markdown) {
    const path = resolve(io.cwd, flags.markdown);
    await writeReportFile('--markdown', path, markdown);
    writeLine(io.stdout, dim(`markdown: ${path}`));
  }
  if (summaryFile) {
    // The job summary is a courtesy: failing to append to it must not change the run's outcome.
    await appendFile(summaryFile, `${markdown}\n`).then(
      () => writeLine(io.stdout, dim('markdown summary appended to $GITHUB_STEP_SUMMARY')),
      (error: unknown) => writeLine(io.stderr, colorsFor(io.stderr, io.env).yellow(`⚠ could not append to $GITHUB_STEP_SUMMARY (${summaryFile}): ${errorMessage(error)}`)),
    );
  }
}
