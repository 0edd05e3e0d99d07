// The errors the test environment throws: each says what failed and, where there is one,
// which log file to read.
export class TestEnvError extends Error {
  constructor(
    message: string,
    readonly logFile?: string,
  ) {
    super(logFile ? `${message} (see ${logFile})` : message);
    this.name = 'TestEnvError';
  }
}

/** A part needs a long build or an install, and the caller asked `up` not to do those. */
export class NotBuiltError extends TestEnvError {
  constructor(what: string) {
    super(`${what} is not built yet; run \`npm run testenv -- up\` once to build it`);
    this.name = 'NotBuiltError';
  }
}
