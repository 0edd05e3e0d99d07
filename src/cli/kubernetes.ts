// `faultline kubernetes manifest <experiment>`: prints the YAML that runs the experiment in the
// cluster as a Job, or a CronJob with --schedule. The objects come from src/deploy; this file reads
// the file, checks the flags and prints.
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { stringify } from 'yaml';
import { FaultlineError } from '../core/errors.js';
import { ExitCode } from '../core/exit-codes.js';
import { kubernetesManifest } from '../deploy/kubernetes-manifest.js';
import type { DriverRegistry } from '../drivers/registry.js';
import { loadExperiment } from '../experiment/load.js';
import { FAULTLINE_VERSION } from '../version.js';
import { writeLine, type CliIo } from './io.js';
import { collectVars, expandExperimentPaths } from './inputs.js';

export interface ManifestFlags {
  name?: string;
  namespace?: string;
  image?: string;
  schedule?: string;
  outputDir: string;
  outputClaim?: string;
  var?: string[];
}

const DEFAULT_IMAGE = `faultline:${FAULTLINE_VERSION}`;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
// A CronJob's name leaves 11 characters for the suffix of the Jobs it creates.
const MAX_NAME = 52;

/** faultline-<file name>, lower-cased to what Kubernetes accepts in a name. */
export function defaultObjectName(file: string): string {
  const stem = basename(file, extname(file)).toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-');
  return `faultline-${stem}`.slice(0, MAX_NAME).replace(/-+$/, '');
}

function checkFlags(flags: ManifestFlags, name: string): void {
  const problems: string[] = [];
  if (!DNS_LABEL.test(name) || name.length > MAX_NAME) problems.push(`--name "${name}": expected lower-case letters, digits and '-', at most ${MAX_NAME} characters`);
  if (flags.namespace !== undefined && !DNS_LABEL.test(flags.namespace)) problems.push(`--namespace "${flags.namespace}": expected a namespace name`);
  if (flags.outputClaim !== undefined && !DNS_LABEL.test(flags.outputClaim)) problems.push(`--output-claim "${flags.outputClaim}": expected a PersistentVolumeClaim name`);
  if (!flags.outputDir.startsWith('/')) problems.push(`--output-dir "${flags.outputDir}": expected an absolute path in the pod`);
  if (flags.schedule !== undefined && !/^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|\S+(\s+\S+){4})$/.test(flags.schedule.trim())) {
    problems.push(`--schedule "${flags.schedule}": expected a cron schedule of five fields, like "0 3 * * *"`);
  }
  if (problems.length > 0) throw new FaultlineError('E_INPUT', problems.join('\n'), { hint: 'faultline kubernetes manifest --help' });
}

export async function manifestCommand(file: string, flags: ManifestFlags, io: CliIo, registry: DriverRegistry): Promise<number> {
  const [path] = await expandExperimentPaths([file], io.cwd);
  const name = flags.name ?? defaultObjectName(path!);
  checkFlags(flags, name);
  const vars = await collectVars({ var: flags.var ?? [] }, io.cwd);
  const loaded = await loadExperiment(path!, { cwd: io.cwd, env: io.env, vars, registry });
  const text = await readFile(loaded.file, 'utf8');
  const objects = kubernetesManifest(
    { file: loaded.file, text, experiment: loaded.experiment },
    {
      name,
      namespace: flags.namespace,
      image: flags.image ?? DEFAULT_IMAGE,
      schedule: flags.schedule?.trim(),
      outputDir: flags.outputDir,
      outputClaim: flags.outputClaim,
      vars: flags.var ?? [],
    },
  );
  const documents = objects.map((object) => stringify(object, { lineWidth: 0, aliasDuplicateObjects: false }));
  io.stdout.write(documents.map((doc) => `---\n${doc}`).join(''));
  if (loaded.experiment.secrets && Object.keys(loaded.experiment.secrets).length > 0) {
    writeLine(io.stderr, 'note: the experiment reads secrets; give the Job their environment variables or files (not in the ConfigMap)');
  }
  return ExitCode.passed;
}
