// The `http` probe: one request, measured. An unreachable or slow service is an observation, not a
// failure of the tool, so connection errors and timeouts come back as output for the tolerances to judge.
import { Agent, fetch, Headers } from 'undici';
import { z } from 'zod';
import { durationSchema, formatDuration } from '../../core/duration.js';
import { defineDriver } from '../contract.js';
import type { DriverContext, Output, ProbeDefinition } from '../types.js';

/** Bodies beyond this are cut: a probe reads health pages and small JSON, not downloads. */
export const MAX_BODY_BYTES = 1024 * 1024;

const requestArgs = z.strictObject({
  url: z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' }).meta({ description: 'The URL to request.' }),
  method: z
    .string()
    .regex(/^[A-Za-z]+$/, 'expected an HTTP method like GET or POST')
    .default('GET')
    .transform((m) => m.toUpperCase())
    .meta({ description: 'HTTP method; default GET.' }),
  headers: z.record(z.string(), z.string()).optional().meta({ description: 'Request headers.' }),
  body: z
    .unknown()
    .optional()
    .meta({ description: 'Request body: text is sent as is; anything else is sent as JSON with content-type application/json.' }),
  timeout: durationSchema.default(5000).meta({ description: 'Give up after this long (default 5s); the output then has status null.' }),
  followRedirects: z.boolean().default(true).meta({ description: 'Follow 3xx redirects (default true); false reports the 3xx itself.' }),
});
type RequestArgs = z.output<typeof requestArgs>;

export interface HttpRequestOutput extends Output {
  /** null when no response arrived: see `error`. */
  status: number | null;
  latency: number;
  headers: Record<string, string>;
  body: string;
  json: unknown;
  error?: string;
}

export async function sendRequest(args: RequestArgs, ctx: DriverContext): Promise<HttpRequestOutput> {
  const headers = new Headers(args.headers);
  let body: string | undefined;
  if (typeof args.body === 'string') body = args.body;
  else if (args.body !== undefined) {
    body = JSON.stringify(args.body);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  }

  // Our own timer, rather than AbortSignal.timeout, so a timeout is told apart from the run being stopped.
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, args.timeout);
  const stop = (): void => controller.abort();
  ctx.signal.addEventListener('abort', stop, { once: true });

  // A new connection for every probe, as kubelet's HTTP probes and curl make: a kept-alive one would
  // go on answering from the backend it first reached (an established flow that a partition or a
  // Service's new endpoints never touch), so a probe could pass on a path the traffic no longer takes.
  const dispatcher = new Agent({ pipelining: 0 });
  const started = performance.now();
  try {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const response = await fetch(args.url, {
      method: args.method,
      headers,
      body,
      redirect: args.followRedirects ? 'follow' : 'manual',
      signal: controller.signal,
      dispatcher,
    });
    const text = await readCappedText(response);
    const latency = Math.round(performance.now() - started);
    return {
      status: response.status,
      latency,
      headers: Object.fromEntries(response.headers),
      body: text,
      json: parseJsonBody(text, response.headers.get('content-type')),
    };
  } catch (error) {
    const latency = Math.round(performance.now() - started);
    if (ctx.signal.aborted) throw ctx.signal.reason ?? error;
    const message = timedOut ? `timeout after ${formatDuration(args.timeout)}` : describeFetchError(error);
    return { status: null, latency, headers: {}, body: '', json: undefined, error: message };
  } finally {
    clearTimeout(timer);
    ctx.signal.removeEventListener('abort', stop);
    void dispatcher.destroy().catch(() => undefined);
  }
}

/** Reads at most MAX_BODY_BYTES and cancels the rest, so a huge or endless body cannot exhaust memory. */
async function readCappedText(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let received = 0;
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const room = MAX_BODY_BYTES - received;
    const chunk = value.byteLength > room ? value.subarray(0, room) : value;
    received += chunk.byteLength;
    text += decoder.decode(chunk, { stream: true });
    if (received >= MAX_BODY_BYTES) {
      await reader.cancel();
      break;
    }
  }
  return text + decoder.decode();
}

function parseJsonBody(text: string, contentType: string | null): unknown {
  const looksJson = /[/+]json\b/i.test(contentType ?? '') || /^\s*[[{]/.test(text);
  if (!looksJson) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** fetch says only "fetch failed"; the useful part (ECONNREFUSED 127.0.0.1:8080) is in its cause. */
export function describeFetchError(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause instanceof AggregateError && cause.errors.length > 0) {
    // localhost resolves to ::1 and 127.0.0.1; every attempt failed, the first says enough.
    const first: unknown = cause.errors[0];
    return first instanceof Error ? first.message : String(first);
  }
  if (cause instanceof Error && cause.message) return cause.message;
  if (cause && typeof cause === 'object' && 'code' in cause) return String(cause.code);
  return error instanceof Error ? error.message : String(error);
}

const request: ProbeDefinition<RequestArgs> = {
  description: 'Send one HTTP request and report its status, latency, headers and body.',
  args: requestArgs,
  outputs: {
    status: 'HTTP status code, or null when no response arrived (connection refused, timeout): see error',
    latency: 'milliseconds from sending the request to reading the whole body',
    headers: 'response headers, names in lower case',
    body: `response body as text, cut at ${MAX_BODY_BYTES} bytes`,
    json: 'the body parsed as JSON when it is JSON, else absent',
    error: 'why no response arrived, e.g. "connect ECONNREFUSED 127.0.0.1:8080" or "timeout after 5s"',
  },
  defaultExpect: { status: { min: 200, max: 399 } },
  run: (args, ctx) => sendRequest(args, ctx),
};

export const httpDriver = defineDriver({
  name: 'http',
  description: 'HTTP requests as probes: status, latency, headers, body and JSON.',
  defaultProbe: 'request',
  actions: {},
  probes: { request },
  undos: {},
});
