// Reads and writes .testenv/env: the connection settings `up` found or started,
// in a form both `set -a; . .testenv/env` and loadTestEnv() understand.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { envFilePath } from './layout.js';

export type TestEnvSettings = Record<string, string>;

function quoteForShell(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

function unquoteShellValue(raw: string): string {
  // Only the single-quoted form written below is produced; accept bare values for hand edits.
  if (raw.startsWith("'") && raw.endsWith("'")) return raw.slice(1, -1).replaceAll(`'\\''`, "'");
  return raw;
}

export function writeTestEnv(settings: TestEnvSettings, env: NodeJS.ProcessEnv = process.env): string {
  const path = envFilePath(env);
  mkdirSync(dirname(path), { recursive: true });
  const lines = [
    '# Written by `npm run testenv -- up`. Load with: set -a; . .testenv/env; set +a',
    ...Object.keys(settings)
      .sort()
      .map((key) => `${key}=${quoteForShell(settings[key]!)}`),
  ];
  // Written whole then renamed, so a test reading it never sees half a file.
  writeFileSync(`${path}.tmp`, `${lines.join('\n')}\n`);
  renameSync(`${path}.tmp`, path);
  return path;
}

/** The settings in .testenv/env, or an empty object when `up` has not run. */
export function loadTestEnv(env: NodeJS.ProcessEnv = process.env): TestEnvSettings {
  let text: string;
  try {
    text = readFileSync(envFilePath(env), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw error;
  }
  const settings: TestEnvSettings = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) settings[match[1]!] = unquoteShellValue(match[2]!);
  }
  return settings;
}
