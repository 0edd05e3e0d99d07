#!/usr/bin/env node
// The signal handler first: loading the CLI takes a while, and a signal then must not find none.
import { installEarlyInterruptHandler } from '../dist/cli/signals.js';
installEarlyInterruptHandler();
const { main } = await import('../dist/cli/main.js');
main(process.argv).then((code) => { process.exitCode = code; });
