// The exit codes of every faultline command, one meaning each. They are a public contract: the CLI
// exits with them and the JSON report states them, so they live here rather than in src/cli.
export const ExitCode = {
  passed: 0,
  deviated: 1,
  invalidInput: 2,
  aborted: 3,
  runError: 4,
  rollbackIncomplete: 5,
  interrupted: 130,
} as const;
export type ExitCodeName = keyof typeof ExitCode;
