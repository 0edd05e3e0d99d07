#!/usr/bin/env node
// The faultline command. `--version` is answered here, before the command line loads, so that asking
// for it costs what starting Node costs. Otherwise the signal handler comes first: loading the CLI
// takes a while, and a signal then must not find none. The CLI loads each command (and each driver's
// client library) only when it is used.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const { FAULTLINE_VERSION } = await import('../dist/version.js');
  process.stdout.write(`${FAULTLINE_VERSION}\n`);
} else {
  const { installEarlyInterruptHandler } = await import('../dist/cli/signals.js');
  installEarlyInterruptHandler();
  const { main } = await import('../dist/cli/main.js');
  main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
