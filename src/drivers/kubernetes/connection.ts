// Reaching a cluster safely: the kubeconfig by the usual loading rules (the experiment's path,
// KUBECONFIG, ~/.kube/config, in-cluster), the context (--context, the experiment's, the current
// one), and the guards that run before any API call: the context and namespaces must be in the
// experiment's allow-list, and a context that looks like production needs --allow-production.
import { setMaxListeners } from 'node:events';
import { existsSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { homedir } from 'node:os';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import type {
  AppsV1Api,
  CoreApi,
  CoreV1Api,
  KubeConfig,
  NetworkingV1Api,
  DiscoveryV1Api,
  PolicyV1Api,
  createConfiguration,
  ApiType,
  RequestContext,
  ResponseContext,
} from '@kubernetes/client-node';
import { z } from 'zod';
import { FaultlineError } from '../../core/errors.js';
import { FAULTLINE_VERSION } from '../../version.js';
import { exclusionSchema, isExcluded } from '../selection.js';
import type { ActionDefinition, DriverContext, ProbeDefinition, UndoDefinition } from '../types.js';

export const USER_AGENT = `faultline/${FAULTLINE_VERSION}`;
const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export const targetSettings = z
  .strictObject({
    kubeconfig: z
      .string()
      .min(1)
      .optional()
      .meta({ description: 'Kubeconfig file, relative to the experiment file; default: KUBECONFIG, then ~/.kube/config, then in-cluster.' }),
    context: z.string().min(1).optional().meta({ description: "Context to use when --context is not given; default: the kubeconfig's current context." }),
    contexts: exclusionSchema.min(1).meta({ description: 'Allow-list: contexts (names or whole-name regular expressions) this experiment may use.' }),
    namespaces: exclusionSchema.min(1).meta({ description: 'Allow-list: namespaces (names or whole-name regular expressions) this experiment may touch.' }),
    nodes: exclusionSchema
      .optional()
      .meta({ description: 'Allow-list for cordon and drain: node names or whole-name regular expressions. Node faults are refused without it.' }),
  })
  .meta({ description: 'Which cluster the kubernetes driver talks to and what it may touch.' });
export type KubernetesTarget = z.output<typeof targetSettings>;

/**
 * What the kubernetes driver keeps for one run: each kubeconfig as loaded (per context), and one
 * keep-alive connection pool per API server, so a fault at its instant is one request on a warm
 * connection instead of a file read, a parse and a TLS handshake.
 */
export interface KubernetesSession {
  configs: Map<string, Promise<KubeConfig>>;
  agents: Map<string, http.Agent>;
}

export function kubernetesSession(): KubernetesSession {
  return { configs: new Map(), agents: new Map() };
}

/** What the kubernetes driver's entries get: its parsed targets, its options (--context, --allow-production) and its session. */
export type KubernetesContext = DriverContext<KubernetesTarget, KubernetesSession | undefined>;
/** An action of this driver, taking args A and handing state S from prepare to apply. */
export type KubernetesAction<A, S = undefined> = ActionDefinition<A, S, KubernetesContext>;
export type KubernetesProbe<A> = ProbeDefinition<A, KubernetesContext>;
export type KubernetesUndo<A> = UndoDefinition<A, KubernetesContext>;

/** Where the kubeconfig came from: files to load again (merged in order), or the pod's service account. */
export const kubeconfigSourceSchema = z
  .union([z.array(z.string().min(1)).min(1), z.literal('in-cluster')])
  .meta({ description: 'Kubeconfig files, merged in order, or in-cluster.' });
export type KubeconfigSource = z.output<typeof kubeconfigSourceSchema>;

/** What an undo needs to reach the same cluster from a new process, without the experiment. */
export const connectionArgsShape = {
  kubeconfig: kubeconfigSourceSchema,
  context: z.string().min(1),
  server: z.string().min(1).meta({ description: 'API server URL the fault was applied through; the undo refuses another one.' }),
};
export type ConnectionArgs = { kubeconfig: KubeconfigSource; context: string; server: string };

/** Names, or whole-name regular expressions; the same rule as exclusions, used here to allow. */
export function isAllowed(name: string, allowList: readonly string[] | undefined): boolean {
  return isExcluded(name, allowList ?? []);
}

/** A context or cluster name with a `prod`, `production` or `prd` word in it. */
export function looksLikeProduction(name: string): boolean {
  return /(^|[^a-z0-9])(prod|production|prd)(\d*)($|[^a-z0-9])/i.test(name);
}

export function readTarget(ctx: KubernetesContext): KubernetesTarget {
  if (ctx.target === undefined) {
    throw new FaultlineError('E_PREFLIGHT', 'the kubernetes driver needs targets.kubernetes with the contexts and namespaces this experiment may touch', {
      hint: 'add targets: { kubernetes: { contexts: [my-test-cluster], namespaces: [my-app] } } to the experiment',
    });
  }
  const parsed = targetSettings.safeParse(ctx.target);
  if (!parsed.success) throw new FaultlineError('E_INPUT', `targets.kubernetes: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  return parsed.data;
}

function homeOf(env: DriverContext['env']): string {
  return env.HOME ?? homedir();
}

/** The kubeconfig by the usual rules, read from the run's environment rather than process.env. */
export function locateKubeconfig(explicit: string | undefined, ctx: Pick<KubernetesContext, 'cwd' | 'env'>): KubeconfigSource {
  if (explicit) return [resolve(ctx.cwd, explicit)];
  const fromEnv = (ctx.env.KUBECONFIG ?? '').split(delimiter).filter(Boolean);
  if (fromEnv.length > 0) return fromEnv.map((file) => (isAbsolute(file) ? file : resolve(ctx.cwd, file)));
  const home = join(homeOf(ctx.env), '.kube', 'config');
  if (existsSync(home)) return [home];
  if (ctx.env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT_TOKEN)) return 'in-cluster';
  throw new FaultlineError('E_PREFLIGHT', 'no kubeconfig found: KUBECONFIG is unset, ~/.kube/config does not exist and this is not a pod', {
    hint: 'set KUBECONFIG, or targets.kubernetes.kubeconfig in the experiment',
  });
}

/**
 * The client library, imported at the first call that needs it: it costs more CPU to load than the rest
 * of faultline together, and validate, plan of other drivers and --help need none of it.
 */
export function kubernetesClientLibrary(): Promise<typeof import('@kubernetes/client-node')> {
  return import('@kubernetes/client-node');
}

export type ClientLibrary = Awaited<ReturnType<typeof kubernetesClientLibrary>>;

export async function loadKubeconfig(source: KubeconfigSource): Promise<KubeConfig> {
  const { KubeConfig } = await kubernetesClientLibrary();
  const config = new KubeConfig();
  if (source === 'in-cluster') {
    config.loadFromCluster();
    return config;
  }
  for (const [index, file] of source.entries()) {
    if (!existsSync(file)) throw new FaultlineError('E_PREFLIGHT', `kubeconfig ${file} does not exist`, { hint: 'check KUBECONFIG or targets.kubernetes.kubeconfig' });
    try {
      if (index === 0) config.loadFromFile(file);
      else {
        const more = new KubeConfig();
        more.loadFromFile(file);
        // As kubectl: the first file to set a context, cluster or user wins, and so does its current-context.
        config.mergeConfig(more, true);
      }
    } catch (error) {
      if (error instanceof FaultlineError) throw error;
      throw new FaultlineError('E_PREFLIGHT', `cannot read kubeconfig ${file}: ${(error as Error).message}`, { cause: error });
    }
  }
  return config;
}

/** A reachable cluster through one context, with API clients that send faultline's user agent and the signal. */
export interface Cluster {
  /** The client library, loaded by connect(): for the calls that are not methods of an API client (exec, watch). */
  library: ClientLibrary;
  config: KubeConfig;
  source: KubeconfigSource;
  context: string;
  server: string;
  core: CoreV1Api;
  apps: AppsV1Api;
  policy: PolicyV1Api;
  networking: NetworkingV1Api;
  /** EndpointSlices: which pods a Service sends traffic to (the evidence of reach). */
  discovery: DiscoveryV1Api;
  coreApi: CoreApi;
  /** The connection an undo stores to come back to this cluster. */
  connection: ConnectionArgs;
}

function useContext(config: KubeConfig, context: string, source: KubeconfigSource): string {
  if (!config.getContextObject(context)) {
    const known = config.getContexts().map((c) => c.name);
    throw new FaultlineError('E_PREFLIGHT', `context "${context}" is not in the kubeconfig (${source === 'in-cluster' ? 'in-cluster' : source.join(delimiter)})`, {
      hint: known.length ? `known contexts: ${known.join(', ')}` : 'the kubeconfig defines no context',
    });
  }
  config.setCurrentContext(context);
  const server = config.getCurrentCluster()?.server;
  if (!server) throw new FaultlineError('E_PREFLIGHT', `context "${context}" names no cluster with a server URL`);
  return server;
}

/**
 * The session's pool for this server: a keep-alive copy of the agent the kubeconfig made for the
 * request (same TLS options: CA, client certificate), made once. Proxy agents are left as they are.
 */
function pooledAgent(session: KubernetesSession | undefined, server: string, fresh: http.Agent | undefined): http.Agent | undefined {
  if (!session || !fresh || (fresh.constructor !== https.Agent && fresh.constructor !== http.Agent)) return fresh;
  let pooled = session.agents.get(server);
  if (!pooled) {
    const options = (fresh as http.Agent & { options: http.AgentOptions }).options;
    pooled = fresh instanceof https.Agent ? new https.Agent({ ...options, keepAlive: true }) : new http.Agent({ ...options, keepAlive: true });
    session.agents.set(server, pooled);
  }
  return pooled;
}

function makeClient<T extends ApiType>(
  { createConfiguration, ServerConfiguration }: ClientLibrary,
  config: KubeConfig,
  server: string,
  signal: AbortSignal,
  session: KubernetesSession | undefined,
  Api: new (configuration: ReturnType<typeof createConfiguration>) => T,
): T {
  return new Api(
    createConfiguration({
      baseServer: new ServerConfiguration(server, {}),
      authMethods: { default: config },
      promiseMiddleware: [
        {
          pre: async (request: RequestContext) => {
            // Shown in the audit log, so a dry run's calls can be told from everyone else's.
            request.setHeaderParam('User-Agent', USER_AGENT);
            request.setSignal(signal);
            const agent = pooledAgent(session, server, request.getAgent() as http.Agent | undefined);
            if (agent) request.setAgent(agent);
            return request;
          },
          post: async (response: ResponseContext) => response,
        },
      ],
    }),
  );
}

async function clusterFor(config: KubeConfig, source: KubeconfigSource, context: string, server: string, signal: AbortSignal, session?: KubernetesSession): Promise<Cluster> {
  const library = await kubernetesClientLibrary();
  // Each request in flight listens on the signal; a kill of 100 pods runs 20 at once.
  setMaxListeners(200, signal);
  return {
    library,
    config,
    source,
    context,
    server,
    core: makeClient(library, config, server, signal, session, library.CoreV1Api),
    apps: makeClient(library, config, server, signal, session, library.AppsV1Api),
    policy: makeClient(library, config, server, signal, session, library.PolicyV1Api),
    networking: makeClient(library, config, server, signal, session, library.NetworkingV1Api),
    discovery: makeClient(library, config, server, signal, session, library.DiscoveryV1Api),
    coreApi: makeClient(library, config, server, signal, session, library.CoreApi),
    connection: { kubeconfig: source, context, server },
  };
}

/**
 * The cluster an experiment may use, checked before any call: its context must be allowed, a
 * production-looking one confirmed with --allow-production, and `namespaces` (if given) allowed.
 */
export async function connect(ctx: KubernetesContext, namespaces: readonly string[] = []): Promise<Cluster> {
  const target = readTarget(ctx);
  const source = locateKubeconfig(target.kubeconfig, ctx);
  const chosenContext = typeof ctx.options.context === 'string' ? ctx.options.context : target.context;
  // Loaded once per run and context (choosing a context changes the object): a fault at its instant reads no file.
  const key = JSON.stringify([source, chosenContext ?? null]);
  let loading = ctx.session?.configs.get(key);
  if (!loading) {
    loading = loadKubeconfig(source);
    ctx.session?.configs.set(key, loading);
    loading.catch(() => ctx.session?.configs.delete(key));
  }
  const config = await loading;
  // --context, declared by this driver (options.ts); commander hands it over as a string.
  const chosen = typeof ctx.options.context === 'string' ? ctx.options.context : undefined;
  const context = chosen ?? target.context ?? config.getCurrentContext();
  if (!context) throw new FaultlineError('E_PREFLIGHT', 'the kubeconfig has no current context', { hint: 'pass --context or set targets.kubernetes.context' });
  if (!isAllowed(context, target.contexts)) {
    throw new FaultlineError('E_PREFLIGHT', `context "${context}" is not in targets.kubernetes.contexts (${target.contexts.join(', ')})`, {
      hint: 'faultline only touches the clusters an experiment names; add the context to the allow-list or pick another with --context',
    });
  }
  const server = useContext(config, context, source);
  const clusterName = config.getContextObject(context)?.cluster ?? '';
  if ((looksLikeProduction(context) || looksLikeProduction(clusterName)) && !ctx.options.allowProduction) {
    throw new FaultlineError('E_PREFLIGHT', `context "${context}" (cluster "${clusterName}") looks like production; refusing without confirmation`, {
      hint: 'if this is intended, run again with --allow-production',
    });
  }
  for (const namespace of namespaces) requireAllowedNamespace(namespace, target);
  return clusterFor(config, source, context, server, ctx.signal, ctx.session);
}

export function requireAllowedNamespace(namespace: string, target: KubernetesTarget): void {
  if (isAllowed(namespace, target.namespaces)) return;
  throw new FaultlineError('E_PREFLIGHT', `namespace "${namespace}" is not in targets.kubernetes.namespaces (${target.namespaces.join(', ')})`, {
    hint: 'add it to the allow-list if the experiment may touch it',
  });
}

/** The cluster an undo was recorded against; refuses when the context now points at another server. */
export async function reconnect(args: ConnectionArgs, signal: AbortSignal): Promise<Cluster> {
  const config = await loadKubeconfig(args.kubeconfig);
  const server = useContext(config, args.context, args.kubeconfig);
  if (server !== args.server) {
    throw new FaultlineError('E_PREFLIGHT', `context "${args.context}" now points at ${server}, not ${args.server} where the fault was applied`, {
      hint: 'restore the kubeconfig the run used, then run `faultline recover`',
    });
  }
  return clusterFor(config, args.kubeconfig, args.context, server, signal);
}

/** The HTTP status of a client-node error, or undefined for a network error. */
export function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

function messageFromBody(error: unknown): string | undefined {
  const body = (error as { body?: unknown }).body;
  if (typeof body !== 'string') return (body as { message?: string } | undefined)?.message;
  try {
    return (JSON.parse(body) as { message?: string }).message;
  } catch {
    return body.slice(0, 300) || undefined;
  }
}

/** A client-node error as a FaultlineError that says what failed and what to check. */
export function kubeError(error: unknown, what: string, cluster?: Pick<Cluster, 'server' | 'context'>): FaultlineError {
  if (error instanceof FaultlineError) return error;
  const status = statusOf(error);
  const where = cluster ? ` (context ${cluster.context}, ${cluster.server})` : '';
  if (status === undefined) {
    const cause = error as { code?: string; message?: string; name?: string };
    if (cause.name === 'AbortError') return new FaultlineError('E_TIMEOUT', `${what}: cancelled`, { cause: error });
    return new FaultlineError('E_PREFLIGHT', `${what}: the Kubernetes API is unreachable${where}: ${cause.message ?? String(error)}`, {
      hint: 'is the cluster running, and does the kubeconfig point at it?',
      cause: error,
    });
  }
  const detail = messageFromBody(error) ?? (error as Error).message;
  if (status === 401) {
    return new FaultlineError('E_PREFLIGHT', `${what}: unauthorised (HTTP 401)${where}`, { hint: 'the kubeconfig credentials were refused: log in again or renew them', cause: error });
  }
  if (status === 403) return new FaultlineError('E_PREFLIGHT', `${what}: forbidden (HTTP 403)${where}: ${detail}`, { hint: 'the user lacks the RBAC permission for this call', cause: error });
  return new FaultlineError('E_DRIVER', `${what}: HTTP ${status}: ${detail}`, { cause: error });
}
