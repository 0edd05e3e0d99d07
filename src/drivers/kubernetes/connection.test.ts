// The guards that run before any API call (allow-lists, production contexts), the kubeconfig loading
// rules, and how an unreachable or unauthorised API is reported.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDriverContext } from '../../../test/support/driver-context.js';
import { freePort } from '../../../test/support/ports.js';
import { requireKubernetes } from '../../../test/support/testenv.js';
import { FaultlineError } from '../../core/errors.js';
import { connect, locateKubeconfig, looksLikeProduction, reconnect } from './connection.js';
import { kubernetesDriver } from './index.js';
import { formatLabelSelector, parseLabelSelector } from './label-selector.js';

let dir: string;

function kubeconfig(contexts: Array<{ name: string; server: string; cluster?: string; user?: Record<string, unknown> }>, current?: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: contexts.map((c) => ({ name: c.cluster ?? c.name, cluster: { server: c.server, 'insecure-skip-tls-verify': true } })),
    users: contexts.map((c) => ({ name: c.name, user: c.user ?? { token: 'not-a-real-token' } })),
    contexts: contexts.map((c) => ({ name: c.name, context: { cluster: c.cluster ?? c.name, user: c.name } })),
    'current-context': current ?? contexts[0]!.name,
  });
}

async function writeKubeconfig(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

async function refusal(work: () => unknown): Promise<FaultlineError> {
  try {
    await work();
  } catch (error) {
    expect(error).toBeInstanceOf(FaultlineError);
    return error as FaultlineError;
  }
  throw new Error('expected a refusal');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'faultline-kubeconfig-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('production-looking names', () => {
  it.each(['prod', 'production', 'eu-prod-1', 'gke_acme_europe-west1_prd', 'arn:aws:eks:us-east-1:1:cluster/prod2', 'PROD.cluster'])('%s looks like production', (name) => {
    expect(looksLikeProduction(name)).toBe(true);
  });
  it.each(['faultline-test', 'staging', 'product-dev', 'kind-kind', 'reproduce'])('%s does not', (name) => {
    expect(looksLikeProduction(name)).toBe(false);
  });
});

describe('the guards before any call', () => {
  it('refuses an experiment without targets.kubernetes', async () => {
    const error = await refusal(() => connect(testDriverContext()));
    expect(error.message).toMatch(/needs targets\.kubernetes/);
  });

  it('refuses a context outside the allow-list, without calling the API', async () => {
    // The server does not exist: had a call been made, the error would be "unreachable".
    const path = await writeKubeconfig('two.yaml', kubeconfig([{ name: 'dev', server: `https://127.0.0.1:${await freePort()}` }, { name: 'other', server: 'https://127.0.0.1:1' }]));
    const ctx = testDriverContext({ target: { kubeconfig: path, contexts: ['dev'], namespaces: ['app'] }, options: { context: 'other' } });
    const error = await refusal(() => kubernetesDriver.preflight!(ctx));
    expect(error.message).toBe('context "other" is not in targets.kubernetes.contexts (dev)');
  });

  it('refuses a namespace outside the allow-list in prepare, the path plan takes', async () => {
    const path = await writeKubeconfig('dev.yaml', kubeconfig([{ name: 'dev', server: 'https://127.0.0.1:1' }]));
    const ctx = testDriverContext({ target: { kubeconfig: path, contexts: ['dev'], namespaces: ['app-.*'] } });
    const kill = kubernetesDriver.actions['pod-kill'];
    const error = await refusal(() => kill.prepare(kill.args.parse({ namespace: 'kube-system' }), ctx));
    expect(error.message).toMatch(/namespace "kube-system" is not in targets\.kubernetes\.namespaces \(app-\.\*\)/);
  });

  it('needs --allow-production for a context that looks like production', async () => {
    const path = await writeKubeconfig('prod.yaml', kubeconfig([{ name: 'eu-prod', server: 'https://127.0.0.1:1' }]));
    const target = { kubeconfig: path, contexts: ['.*'], namespaces: ['app'] };
    const error = await refusal(() => connect(testDriverContext({ target })));
    expect(error.message).toMatch(/looks like production/);
    expect(error.hint).toMatch(/--allow-production/);
    expect((await connect(testDriverContext({ target, options: { allowProduction: true } }))).context).toBe('eu-prod');
  });

  it('also looks at the cluster name behind an innocent context name', async () => {
    const path = await writeKubeconfig('alias.yaml', kubeconfig([{ name: 'work', cluster: 'prod-main', server: 'https://127.0.0.1:1' }]));
    const error = await refusal(() => connect(testDriverContext({ target: { kubeconfig: path, contexts: ['work'], namespaces: ['app'] } })));
    expect(error.message).toMatch(/cluster "prod-main"\) looks like production/);
  });

  it('node faults need a nodes allow-list', async () => {
    const path = await writeKubeconfig('dev2.yaml', kubeconfig([{ name: 'dev', server: 'https://127.0.0.1:1' }]));
    const ctx = testDriverContext({ target: { kubeconfig: path, contexts: ['dev'], namespaces: ['app'] } });
    const cordon = kubernetesDriver.actions.cordon;
    const error = await refusal(() => cordon.prepare(cordon.args.parse({ nodes: ['n1'] }), ctx));
    expect(error.message).toMatch(/node faults need targets\.kubernetes\.nodes/);
  });
});

describe('kubeconfig loading rules', () => {
  it('prefers the experiment path, then KUBECONFIG (a list), then ~/.kube/config', async () => {
    const home = join(dir, 'home');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(home, '.kube'), { recursive: true });
    await writeFile(join(home, '.kube', 'config'), kubeconfig([{ name: 'home', server: 'https://127.0.0.1:1' }]));
    expect(locateKubeconfig('k.yaml', { cwd: dir, env: { KUBECONFIG: '/x' } })).toEqual([join(dir, 'k.yaml')]);
    expect(locateKubeconfig(undefined, { cwd: dir, env: { KUBECONFIG: `/a:rel/b::`, HOME: home } })).toEqual(['/a', join(dir, 'rel/b')]);
    expect(locateKubeconfig(undefined, { cwd: dir, env: { HOME: home } })).toEqual([join(home, '.kube', 'config')]);
    const error = await refusal(() => locateKubeconfig(undefined, { cwd: dir, env: { HOME: join(dir, 'nowhere') } }));
    expect(error.message).toMatch(/no kubeconfig found/);
  });

  it('merges a KUBECONFIG list: the first file sets the current context', async () => {
    const first = await writeKubeconfig('first.yaml', kubeconfig([{ name: 'one', server: 'https://127.0.0.1:1' }]));
    const second = await writeKubeconfig('second.yaml', kubeconfig([{ name: 'two', server: 'https://127.0.0.1:2' }]));
    const ctx = testDriverContext({ env: { KUBECONFIG: `${first}:${second}` }, target: { contexts: ['one', 'two'], namespaces: ['app'] } });
    expect((await connect(ctx)).context).toBe('one');
    expect((await connect({ ...ctx, options: { context: 'two' } })).server).toBe('https://127.0.0.1:2');
  });

  it('an undo refuses a context that now points at another server', async () => {
    const path = await writeKubeconfig('moved.yaml', kubeconfig([{ name: 'dev', server: 'https://127.0.0.1:3' }]));
    const error = await refusal(() => reconnect({ kubeconfig: [path], context: 'dev', server: 'https://127.0.0.1:4' }, new AbortController().signal));
    expect(error.message).toMatch(/now points at https:\/\/127\.0\.0\.1:3, not https:\/\/127\.0\.0\.1:4/);
  });
});

describe('an API that cannot be used is reported before any fault', () => {
  it('unreachable', async () => {
    const path = await writeKubeconfig('down.yaml', kubeconfig([{ name: 'dev', server: `https://127.0.0.1:${await freePort()}` }]));
    const error = await refusal(() => kubernetesDriver.preflight!(testDriverContext({ target: { kubeconfig: path, contexts: ['dev'], namespaces: ['app'] } })));
    expect(error.code).toBe('E_PREFLIGHT');
    expect(error.message).toMatch(/reaching the API server: the Kubernetes API is unreachable \(context dev, https:\/\/127\.0\.0\.1:\d+\)/);
  });

  it('unauthorised', async (ctx) => {
    const cluster = await requireKubernetes(ctx);
    const path = await writeKubeconfig('bad-token.yaml', kubeconfig([{ name: 'dev', server: cluster.server }]));
    const error = await refusal(() => kubernetesDriver.preflight!(testDriverContext({ target: { kubeconfig: path, contexts: ['dev'], namespaces: ['app'] } })));
    expect(error.message).toMatch(/reaching the API server: unauthorised \(HTTP 401\)/);
    expect(error.hint).toMatch(/credentials were refused/);
  });
});

describe('label selectors', () => {
  it('reads equality, set and existence requirements and writes them back', () => {
    const selector = parseLabelSelector('app=web, tier != db,env in (a, b),track notin (canary),!legacy,team');
    expect(selector).toEqual({
      matchLabels: { app: 'web' },
      matchExpressions: [
        { key: 'tier', operator: 'NotIn', values: ['db'] },
        { key: 'env', operator: 'In', values: ['a', 'b'] },
        { key: 'track', operator: 'NotIn', values: ['canary'] },
        { key: 'legacy', operator: 'DoesNotExist' },
        { key: 'team', operator: 'Exists' },
      ],
    });
    expect(formatLabelSelector(selector)).toBe('app=web,tier notin (db),env in (a,b),track notin (canary),!legacy,team');
  });

  it('refuses what it cannot read', () => {
    expect(() => parseLabelSelector('app=web,tier>3')).toThrow(/cannot read the label selector "app=web,tier>3" at "tier>3"/);
  });
});
