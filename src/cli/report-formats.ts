// The formats `faultline report --format` renders, apart from the reporters so `--help` lists them
// without loading any.
export const REPORT_FORMATS = ['text', 'junit', 'markdown', 'json', 'html'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];
