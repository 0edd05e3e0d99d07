// `faultline init`: writes a commented starter experiment that validates as written.
import { stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { FaultlineError, errorMessage } from '../core/errors.js';
import { makeDirectory } from '../core/make-dir.js';
import { writeLine, type CliIo } from './io.js';

export const STARTER_EXPERIMENT = `# yaml-language-server: $schema=https://unpkg.com/faultline/schema/experiment.schema.json
# A faultline experiment. Validate it with \`faultline validate\`, preview it with \`faultline plan\`,
# run it with \`faultline run\`. \`faultline drivers\` lists every probe and fault with its arguments.
version: 1
title: My service survives a hung instance
description: >
  While one instance stops answering for 10 seconds, the service keeps answering within 1 second.
tags: [starter]

# Values used below as \${vars.name}; override with --var name=value or --var-file.
vars:
  url: http://127.0.0.1:8080/health
  port: 8080

# The steady state: what "healthy" means, checked before and after the method.
hypothesis:
  title: the service answers quickly
  probes:
    - name: service answers
      probe: http
      with: { url: "\${vars.url}", timeout: 2s }
      expect:
        status: 200
        latency: { max: 1s }

# The method: faults on a timeline. Each fault is written to the ledger before it is applied,
# and undone when its duration ends, when the run fails, or on Ctrl-C.
method:
  - name: freeze the process listening on the port
    fault: process.stop
    with: { port: "\${vars.port}" }
    at: 2s
    duration: 10s
  - name: service still answers while frozen
    probe: http
    at: 5s
    with: { url: "\${vars.url}", timeout: 2s }
    expect:
      status: 200

# Stop at once (and undo) if things get worse than this while a fault is live.
abort:
  - name: service down
    probe: tcp
    with: { port: "\${vars.port}" }
    every: 1s
    failures: 3
`;

export async function initCommand(path: string | undefined, flags: { force?: boolean }, io: CliIo): Promise<number> {
  const target = resolve(io.cwd, path ?? 'experiment.yaml');
  const existing = await stat(target).catch(() => undefined);
  if (existing && !existing.isFile()) {
    throw new FaultlineError('E_INPUT', `${target} is ${existing.isDirectory() ? 'a folder' : 'not a regular file'}`, { hint: 'Give the path of the experiment file to write, such as experiments/checkout.yaml.' });
  }
  try {
    await makeDirectory(dirname(target));
    await writeFile(target, STARTER_EXPERIMENT, { flag: flags.force ? 'w' : 'wx' });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      throw new FaultlineError('E_INPUT', `${target} already exists`, { hint: 'Choose another path, or pass --force to overwrite it.' });
    }
    throw new FaultlineError('E_FILE', `cannot write ${target}: ${errorMessage(error)}`, {
      hint: code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? 'The folder is not writable: choose a path in one you can write to.' : 'Choose a path in a folder you can write to, on a real disk.',
    });
  }
  writeLine(io.stdout, `wrote ${target}\nnext: faultline validate ${path ?? 'experiment.yaml'} && faultline plan ${path ?? 'experiment.yaml'}`);
  return 0;
}
