// A small client for the Prometheus HTTP API (instant and range queries, readiness), on undici: the
// connection settings (URL, bearer or basic auth, TLS files) come from `targets.prometheus`, and every
// call is bounded by its own timeout besides the caller's signal.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Dispatcher } from 'undici';
import { z } from 'zod';
import { durationSchema, formatDuration } from '../../core/duration.js';
import { FaultlineError } from '../../core/errors.js';
import { describeFetchError } from '../http/index.js';
import type { Series } from '../../core/series-bounds.js';

export { seriesName, type Series } from '../../core/series-bounds.js';

export const DEFAULT_PROMETHEUS_URL = 'http://127.0.0.1:9090';

export const connectionShape = {
  url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL of a Prometheus server' }).optional().meta({
    description: `Base URL of the Prometheus HTTP API (default ${DEFAULT_PROMETHEUS_URL}); a path prefix is kept (https://host/prometheus).`,
  }),
  bearer: z.string().min(1).optional().meta({ description: 'Bearer token, e.g. ${secrets.promToken}; never written to any output.' }),
  basic: z
    .strictObject({ username: z.string(), password: z.string() })
    .optional()
    .meta({ description: 'Basic auth; put the password in a secret: ${secrets.promPassword}.' }),
  tls: z
    .strictObject({
      ca: z.string().optional().meta({ description: 'PEM file of the CA that signed the server certificate (relative to the working folder).' }),
      cert: z.string().optional().meta({ description: 'PEM client certificate for mutual TLS.' }),
      key: z.string().optional().meta({ description: 'PEM key of the client certificate.' }),
      insecure: z.boolean().optional().meta({ description: 'Skip verifying the server certificate (test servers only).' }),
    })
    .optional(),
  requestTimeout: durationSchema.optional().meta({ description: 'Bound on each HTTP call to Prometheus (default 10s).' }),
};

export const targetSchema = z.strictObject(connectionShape);
export type PrometheusTarget = z.output<typeof targetSchema>;

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** The TLS settings with their files read (read when the connection is made, so a missing file is an early error). */
interface TlsSettings {
  ca: string | undefined;
  cert: string | undefined;
  key: string | undefined;
  rejectUnauthorized: boolean;
}

export interface Connection {
  url: string;
  headers: Record<string, string>;
  tls: TlsSettings | undefined;
  /** The TLS agent, made at the first call: undici loads only when a call is made, not when an experiment is validated. */
  dispatcher?: Dispatcher;
  timeoutMs: number;
}

/** The connection a probe or a monitor uses: the target's settings, with the call's own URL when it gives one. */
export function connectionFor(target: PrometheusTarget | undefined, cwd: string, urlOverride?: string): Connection {
  const settings = target ?? {};
  const headers: Record<string, string> = {};
  if (settings.bearer !== undefined) headers.authorization = `Bearer ${settings.bearer}`;
  else if (settings.basic !== undefined) headers.authorization = `Basic ${Buffer.from(`${settings.basic.username}:${settings.basic.password}`).toString('base64')}`;
  return {
    url: (urlOverride ?? settings.url ?? DEFAULT_PROMETHEUS_URL).replace(/\/+$/, ''),
    headers,
    tls: settings.tls ? readTls(settings.tls, cwd) : undefined,
    timeoutMs: settings.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT_MS,
  };
}

function readTls(tls: NonNullable<PrometheusTarget['tls']>, cwd: string): TlsSettings {
  const read = (file: string | undefined, what: string): string | undefined => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(resolve(cwd, file), 'utf8');
    } catch (error) {
      throw new FaultlineError('E_PREFLIGHT', `targets.prometheus.tls.${what}: cannot read ${file}: ${(error as Error).message}`, {
        hint: 'Paths are relative to the folder faultline runs in.',
      });
    }
  };
  return { ca: read(tls.ca, 'ca'), cert: read(tls.cert, 'cert'), key: read(tls.key, 'key'), rejectUnauthorized: tls.insecure !== true };
}

/** Prometheus could not be reached or did not answer in time: an outside signal that is missing, not a miss. */
export class PrometheusUnreachableError extends FaultlineError {
  constructor(url: string, detail: string) {
    super('E_DRIVER', `Prometheus at ${url} cannot be reached: ${detail}`, {
      hint: 'Check targets.prometheus.url and that the server is up (curl <url>/-/ready).',
    });
    this.name = 'PrometheusUnreachableError';
  }
}

/** Prometheus answered with an error: a query it cannot parse, or auth it refuses. */
export class PrometheusApiError extends FaultlineError {
  constructor(message: string, hint: string) {
    super('E_DRIVER', message, { hint });
    this.name = 'PrometheusApiError';
  }
}

async function call(connection: Connection, path: string, params: Record<string, string>, signal: AbortSignal): Promise<unknown> {
  const url = `${connection.url}${path}`;
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, connection.timeoutMs);
  const stop = (): void => controller.abort();
  signal.addEventListener('abort', stop, { once: true });
  try {
    if (signal.aborted) throw signal.reason;
    const { Agent, fetch } = await import('undici');
    if (connection.tls && !connection.dispatcher) connection.dispatcher = new Agent({ connect: connection.tls });
    const body = new URLSearchParams(params).toString();
    // POST with a form body: long PromQL does not fit in a URL, and every Prometheus accepts it.
    const response = await fetch(url, {
      method: body ? 'POST' : 'GET',
      headers: { ...connection.headers, ...(body ? { 'content-type': 'application/x-www-form-urlencoded' } : {}) },
      ...(body ? { body } : {}),
      signal: controller.signal,
      ...(connection.dispatcher ? { dispatcher: connection.dispatcher } : {}),
    });
    const text = await response.text();
    if (response.status === 401 || response.status === 403) {
      throw new PrometheusApiError(`Prometheus at ${connection.url} refused the request: HTTP ${response.status}`, 'Check targets.prometheus.bearer or basic.');
    }
    if (path.startsWith('/-/')) {
      if (!response.ok) throw new PrometheusUnreachableError(connection.url, `${path} answered HTTP ${response.status}: ${text.trim().slice(0, 200)}`);
      return text;
    }
    let parsed: { status?: string; data?: unknown; error?: string; errorType?: string };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      throw new PrometheusApiError(`${url} answered HTTP ${response.status} with a body that is not JSON: ${text.slice(0, 200)}`, 'Is targets.prometheus.url the Prometheus server (not a UI or proxy page)?');
    }
    if (parsed.status !== 'success') {
      throw new PrometheusApiError(`Prometheus rejected the query: ${parsed.errorType ?? `HTTP ${response.status}`}: ${parsed.error ?? text.slice(0, 200)}`, 'Check the PromQL in the Prometheus UI (Graph tab) first.');
    }
    return parsed.data;
  } catch (error) {
    if (signal.aborted) throw signal.reason ?? error;
    if (error instanceof FaultlineError) throw error;
    throw new PrometheusUnreachableError(connection.url, timedOut ? `no answer within ${formatDuration(connection.timeoutMs)}` : describeFetchError(error));
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', stop);
  }
}

/** Prometheus serves `/-/ready` once it can answer queries. */
export async function checkReady(connection: Connection, signal: AbortSignal): Promise<void> {
  await call(connection, '/-/ready', {}, signal);
}

interface RawResult {
  resultType: 'vector' | 'matrix' | 'scalar' | 'string';
  result: unknown;
}

function toSeries(data: unknown): Series[] {
  const raw = data as RawResult;
  const number = (text: unknown): number => Number(text); // "NaN", "+Inf" parse as such
  if (raw.resultType === 'scalar') {
    const [t, v] = raw.result as [number, string];
    return [{ labels: {}, samples: [[Math.round(t * 1000), number(v)]] }];
  }
  if (raw.resultType === 'vector') {
    return (raw.result as { metric: Record<string, string>; value: [number, string] }[]).map((s) => ({
      labels: s.metric,
      samples: [[Math.round(s.value[0] * 1000), number(s.value[1])]],
    }));
  }
  if (raw.resultType === 'matrix') {
    return (raw.result as { metric: Record<string, string>; values: [number, string][] }[]).map((s) => ({
      labels: s.metric,
      samples: s.values.map(([t, v]) => [Math.round(t * 1000), number(v)] as [number, number]),
    }));
  }
  throw new PrometheusApiError(`the query returned a ${raw.resultType}, not numbers`, 'Use a query that yields an instant vector or a scalar.');
}

export async function queryInstant(connection: Connection, query: string, signal: AbortSignal, atMs?: number): Promise<Series[]> {
  const params: Record<string, string> = { query };
  if (atMs !== undefined) params.time = (atMs / 1000).toFixed(3);
  return toSeries(await call(connection, '/api/v1/query', params, signal));
}

export async function queryRange(connection: Connection, query: string, startMs: number, endMs: number, stepMs: number, signal: AbortSignal): Promise<Series[]> {
  return toSeries(
    await call(connection, '/api/v1/query_range', { query, start: (startMs / 1000).toFixed(3), end: (endMs / 1000).toFixed(3), step: String(Math.max(stepMs, 1) / 1000) }, signal),
  );
}
