import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FaultlineError } from '../core/errors.js';
import { Ledger } from './ledger.js';
import { writeLedgerRecord } from './fault-lifecycle.js';
import { referToSecrets, resolveSecretReferences, type KnownSecret } from './secret-references.js';

const token: KnownSecret = { name: 'token', value: 's3cr3t-Token', source: { env: 'API_TOKEN' } };
const longer: KnownSecret = { name: 'pair', value: 'user:s3cr3t-Token', source: { file: '/etc/pair' } };

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'faultline-secrets-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('secrets in the ledger as references', () => {
  it('replaces every value with its reference, the longest first, and names the sources used', () => {
    const { value, sources } = referToSecrets({ run: ['curl', '-u', 'user:s3cr3t-Token', 'x?t=s3cr3t-Token'], n: 3 }, [token, longer]);
    expect(value).toEqual({ run: ['curl', '-u', '${secrets.pair}', 'x?t=${secrets.token}'], n: 3 });
    expect(sources).toEqual({ pair: { file: '/etc/pair' }, token: { env: 'API_TOKEN' } });
  });

  it('resolves references from the environment and from files, as the run and recover both do', async () => {
    const file = join(dir, 'pair');
    await writeFile(file, 'user:from-file\n');
    const { value, secrets } = await resolveSecretReferences(
      { a: 'x ${secrets.token} y', b: ['${secrets.pair}'], c: '${secrets.unlisted}' },
      { token: { env: 'API_TOKEN' }, pair: { file } },
      { API_TOKEN: 'from-env' },
    );
    expect(value).toEqual({ a: 'x from-env y', b: ['user:from-file'], c: '${secrets.unlisted}' });
    expect(secrets.map((s) => s.name).sort()).toEqual(['pair', 'token']);
  });

  it('says which secret is missing and how to provide it', async () => {
    const error = await resolveSecretReferences({ a: '${secrets.token}' }, { token: { env: 'API_TOKEN' } }, {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FaultlineError);
    expect((error as FaultlineError).code).toBe('E_INPUT');
    expect((error as FaultlineError).message).toContain('secret "token"');
    expect((error as FaultlineError).hint).toContain('API_TOKEN=');
    const fromFile = await resolveSecretReferences({ a: '${secrets.pair}' }, { pair: { file: join(dir, 'gone') } }, {}).catch((e: unknown) => e);
    expect((fromFile as FaultlineError).hint).toContain(join(dir, 'gone'));
  });

  it('every ledger record, apply-failed and undo-failed included, holds references and never the value or ***', async () => {
    const ledger = new Ledger(dir);
    await writeLedgerRecord(ledger, { kind: 'intent', id: 'r/1', runId: 'r', experiment: 'e.yaml', step: 'exec', action: 'docker.exec', targets: ['c'], undo: { driver: 'docker', op: 'exec', args: { command: ['echo', 's3cr3t-Token'] } }, at: 'now' }, [token]);
    await writeLedgerRecord(ledger, { kind: 'apply-failed', id: 'r/1', at: 'now', error: 'exit 3: s3cr3t-Token' }, [token]);
    await writeLedgerRecord(ledger, { kind: 'undo-failed', id: 'r/1', at: 'now', error: 'exit 4: s3cr3t-Token' }, [token]);
    await ledger.close();
    const [entry] = await ledger.entries();
    expect(entry!.intent.secrets).toEqual({ token: { env: 'API_TOKEN' } });
    expect(entry!.intent.undo!.args).toEqual({ command: ['echo', '${secrets.token}'] });
    expect(entry!.errors).toEqual(['exit 3: ${secrets.token}', 'exit 4: ${secrets.token}']);
    const text = JSON.stringify(await ledger.entries());
    expect(text).not.toContain('s3cr3t-Token');
    expect(text).not.toContain('***');
  });
});
