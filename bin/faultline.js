#!/usr/bin/env node
// The faultline command. `--version` is answered here, before the command line loads, so that asking
// for it costs what starting Node costs; everything else goes to the CLI, which loads each command
// (and each driver's client library) only when it is used.
const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const { FAULTLINE_VERSION } = await import('../dist/version.js');
  process.stdout.write(`${FAULTLINE_VERSION}\n`);
} else {
  const { main } = await import('../dist/cli/main.js');
  process.exitCode = await main(process.argv);
}
