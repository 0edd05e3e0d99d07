// Secrets in the ledger as references: a ledger record never holds a secret's value (nor `***`, which
// would make an undo unrecoverable) but `${secrets.name}`, and the intent says where that secret comes
// from (an environment variable or a file). The run's own undo and `faultline recover` resolve the
// references with the same function, so both undo with the same values.
import { FaultlineError } from '../core/errors.js';
import { readSecretFile, type SecretSource } from '../experiment/substitute.js';

export type { SecretSource };

export interface KnownSecret {
  name: string;
  value: string;
  source: SecretSource;
}

const REFERENCE = /\$\{secrets\.([A-Za-z0-9_.-]+)\}/g;

function mapStrings(value: unknown, map: (text: string) => string): unknown {
  if (typeof value === 'string') return map(value);
  if (Array.isArray(value)) return value.map((item) => mapStrings(item, map));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mapStrings(v, map)]));
  return value;
}

/**
 * Replaces every secret value in every string with `${secrets.<name>}`, longest value first (a secret
 * that contains another is replaced whole), and returns the sources of the secrets it referred to.
 */
export function referToSecrets<T>(value: T, secrets: readonly KnownSecret[]): { value: T; sources: Record<string, SecretSource> } {
  const usable = secrets.filter((s) => s.value.length > 0).sort((a, b) => b.value.length - a.value.length);
  const sources: Record<string, SecretSource> = {};
  if (usable.length === 0) return { value, sources };
  const replaced = mapStrings(value, (text) =>
    usable.reduce((current, secret) => {
      if (!current.includes(secret.value)) return current;
      sources[secret.name] = secret.source;
      return current.split(secret.value).join(`\${secrets.${secret.name}}`);
    }, text),
  );
  return { value: replaced as T, sources };
}

/** How to provide a secret that cannot be read, in words a user can act on. */
function howToProvide(name: string, source: SecretSource): string {
  return 'env' in source
    ? `secret "${name}" comes from the environment variable ${source.env}: set it, e.g. ${source.env}=… faultline recover`
    : `secret "${name}" comes from the file ${source.file}: put the secret back in that file, then run \`faultline recover\` again`;
}

/**
 * Resolves the `${secrets.<name>}` references of a ledger record with the sources it lists. A secret
 * that cannot be read is an input error naming the secret and how to provide it.
 */
export async function resolveSecretReferences<T>(
  value: T,
  sources: Readonly<Record<string, SecretSource>> | undefined,
  env: Readonly<Record<string, string | undefined>>,
): Promise<{ value: T; secrets: KnownSecret[] }> {
  const names = new Set<string>();
  mapStrings(value, (text) => {
    for (const match of text.matchAll(REFERENCE)) if (sources && Object.hasOwn(sources, match[1]!)) names.add(match[1]!);
    return text;
  });
  const secrets: KnownSecret[] = [];
  for (const name of names) {
    const source = sources![name]!;
    if ('env' in source) {
      const found = env[source.env];
      if (found === undefined) throw new FaultlineError('E_INPUT', `the undo needs secret "${name}", and the environment variable ${source.env} is not set`, { hint: howToProvide(name, source) });
      secrets.push({ name, value: found, source });
    } else {
      const read = await readSecretFile(source.file);
      if (typeof read !== 'string') throw new FaultlineError('E_INPUT', `the undo needs secret "${name}": ${read.problem}`, { hint: howToProvide(name, source) });
      secrets.push({ name, value: read, source });
    }
  }
  if (secrets.length === 0) return { value, secrets };
  const values = new Map(secrets.map((s) => [s.name, s.value]));
  return { value: mapStrings(value, (text) => text.replace(REFERENCE, (whole, name: string) => values.get(name) ?? whole)) as T, secrets };
}
