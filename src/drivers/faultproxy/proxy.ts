// One HTTP(S) reverse proxy of the fault proxy: forwards each request to its upstream with undici,
// streaming both bodies, and lets the faults in force answer, abort, delay or throttle it first. Runs
// inside the fault proxy's child process (server.ts).
//
// Why undici towards the upstream rather than node:http's client: it keeps a pool of keep-alive
// connections per origin with far less work per request, which is most of a proxy's cost; node:http
// serves the callers, as it must to see each request's head before any fault decides.
import { readFileSync } from 'node:fs';
import { STATUS_CODES, createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { pipeline, type Readable } from 'node:stream';
import { Pool } from 'undici';
import { ActiveFault, decide, type Decision, type FaultReport, type FaultSpec } from './rules.js';

export interface ProxyConfig {
  name: string;
  host: string;
  port: number;
  /** Origin of the upstream: http://host:port or https://host:port. */
  upstream: string;
  /** Serve callers over HTTPS with these PEM files. */
  tls?: { cert: string; key: string };
  /** Trust this CA (PEM file) for an HTTPS upstream, besides the system's. */
  upstreamCa?: string;
  /** Accept any certificate from an HTTPS upstream (a self-signed test server). */
  upstreamInsecure?: boolean;
  /** preserve: the caller's Host goes upstream unchanged (as through Toxiproxy); upstream: the upstream's host:port. */
  hostHeader: 'preserve' | 'upstream';
}

export interface ProxyTotals {
  requests: number;
  /** Answered by the upstream (whatever its status). */
  forwarded: number;
  /** Ended by a fault: a status, a reset, a close. */
  faulted: number;
  /** 502 answers: the upstream refused, reset or could not be reached. */
  upstreamErrors: number;
  /** Malformed requests answered with a 4xx by the HTTP parser (oversized headers, bad chunking). */
  clientErrors: number;
}

/** Connection-level headers (RFC 9110 7.6.1) that a proxy must not forward, in either direction. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization']);

function isHopByHop(name: string, listed: Set<string> | undefined): boolean {
  return HOP_BY_HOP.has(name) || (listed !== undefined && listed.has(name));
}

/** Header names the Connection header names as hop-by-hop for this message. */
function connectionListed(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  const names = (Array.isArray(value) ? value.join(',') : value).split(',').map((n) => n.trim().toLowerCase());
  return new Set(names.filter(Boolean));
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class FaultProxy {
  readonly totals: ProxyTotals = { requests: 0, forwarded: 0, faulted: 0, upstreamErrors: 0, clientErrors: 0 };
  /** In force now, in the order they were added: the order a request meets them. */
  private faults: ActiveFault[] = [];
  /** Removed ones keep their final counts, so a reading after the undo still tells what they did. */
  private readonly removed = new Map<string, ActiveFault>();
  private readonly server: Server;
  private readonly pool: Pool;
  private readonly upstreamHost: string;
  private readonly protocol: 'http' | 'https';

  constructor(
    readonly config: ProxyConfig,
    private readonly seed: number,
  ) {
    const upstream = new URL(config.upstream);
    this.upstreamHost = upstream.host;
    this.pool = new Pool(upstream.origin, {
      // A slow upstream is passed through as it is: the callers' own timeouts are what the run tests.
      headersTimeout: 0,
      bodyTimeout: 0,
      keepAliveTimeout: 4_000,
      ...(upstream.protocol === 'https:'
        ? { connect: { ...(config.upstreamCa ? { ca: readFileSync(config.upstreamCa) } : {}), rejectUnauthorized: !config.upstreamInsecure, servername: upstream.hostname } }
        : {}),
    });
    const options = {
      // Slow uploads and long streams are the caller's business; the defaults would cut them at 300 s.
      requestTimeout: 0,
      keepAliveTimeout: 5_000,
    };
    const handler = (req: IncomingMessage, res: ServerResponse) => this.handle(req, res);
    this.protocol = config.tls ? 'https' : 'http';
    this.server = config.tls
      ? createHttpsServer({ ...options, cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) }, handler)
      : createHttpServer(options, handler);
    this.server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => this.answerClientError(error, socket));
    // A forward proxy's CONNECT has no place on a reverse proxy.
    this.server.on('connect', (_req: IncomingMessage, socket: Socket) => {
      this.totals.clientErrors++;
      socket.end('HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
  }

  async listen(): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.config.port, this.config.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const address = this.server.address();
    const port = typeof address === 'object' && address ? address.port : this.config.port;
    return `${this.config.host.includes(':') ? `[${this.config.host}]` : this.config.host}:${port}`;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    // Requests in flight get a moment to finish; then their connections go too.
    const forced = setTimeout(() => this.server.closeAllConnections(), 1_000);
    await closed;
    clearTimeout(forced);
    await this.pool.close().catch(() => undefined);
  }

  addFault(spec: FaultSpec): 'added' | 'exists' {
    if (this.faults.some((f) => f.spec.id === spec.id) || this.removed.has(spec.id)) return 'exists';
    // A new array, not a push: a request being decided keeps the list it started with.
    this.faults = [...this.faults, new ActiveFault(spec, this.seed)];
    return 'added';
  }

  /** Idempotent: a fault removed already (or never added) reports what it knows. */
  removeFault(id: string): FaultReport | undefined {
    const fault = this.faults.find((f) => f.spec.id === id);
    if (!fault) return this.removed.get(id)?.report();
    this.faults = this.faults.filter((f) => f !== fault);
    fault.removedAtMs = Date.now();
    this.removed.set(id, fault);
    return fault.report();
  }

  fault(id: string): FaultReport | undefined {
    return (this.faults.find((f) => f.spec.id === id) ?? this.removed.get(id))?.report();
  }

  report(): { name: string; upstream: string; totals: ProxyTotals; faults: FaultReport[] } {
    return {
      name: this.config.name,
      upstream: this.config.upstream,
      totals: { ...this.totals },
      faults: [...this.faults, ...this.removed.values()].map((f) => f.report()),
    };
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.totals.requests++;
    const faults = this.faults;
    const decision = faults.length === 0 ? undefined : decide(faults, { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers });
    if (decision === undefined) {
      this.forward(req, res, undefined);
      return;
    }
    this.applyDecision(req, res, decision).catch((error: unknown) => this.requestFailed(res, error));
  }

  /** A request this proxy could not handle (a header value node:http refuses, say): that request ends, the proxy goes on. */
  private requestFailed(res: ServerResponse, error: unknown): void {
    process.stderr.write(`faultproxy ${this.config.name}: ${error instanceof Error ? error.message : String(error)}\n`);
    res.destroy();
  }

  private async applyDecision(req: IncomingMessage, res: ServerResponse, decision: Decision): Promise<void> {
    if (decision.responseDelayMs > 0) {
      await sleep(decision.responseDelayMs);
      if (res.destroyed) return;
    }
    const terminal = decision.terminal;
    if (!terminal) {
      this.forward(req, res, decision);
      return;
    }
    this.totals.faulted++;
    if (decision.firstByteDelayMs > 0) {
      await sleep(decision.firstByteDelayMs);
      if (res.destroyed) return;
    }
    if (terminal.kind === 'abort') {
      const socket = req.socket;
      if (terminal.mode === 'reset') {
        try {
          socket.resetAndDestroy();
        } catch {
          // A TLS socket may not offer a reset: a plain close is the nearest thing.
          socket.destroy();
        }
      } else socket.destroy();
      return;
    }
    const body = terminal.body ?? '';
    res.writeHead(terminal.status, { ...terminal.headers, 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }

  /** The request headers for the upstream: hop-by-hop ones dropped, Host as configured, X-Forwarded-* added. */
  private upstreamHeaders(req: IncomingMessage): string[] {
    const raw = req.rawHeaders;
    const listed = connectionListed(req.headers.connection);
    const headers: string[] = [];
    let forwardedFor: string | undefined;
    let forwardedProto = false;
    for (let i = 0; i < raw.length; i += 2) {
      const name = raw[i]!;
      const lower = name.toLowerCase();
      if (isHopByHop(lower, listed) || lower.startsWith('proxy-')) continue;
      // undici refuses Expect; node:http has answered 100-continue to the caller already.
      if (lower === 'expect') continue;
      if (lower === 'host' && this.config.hostHeader === 'upstream') continue;
      if (lower === 'x-forwarded-for') {
        forwardedFor = forwardedFor === undefined ? raw[i + 1]! : `${forwardedFor}, ${raw[i + 1]!}`;
        continue;
      }
      if (lower === 'x-forwarded-proto') forwardedProto = true;
      headers.push(name, raw[i + 1]!);
    }
    if (this.config.hostHeader === 'upstream') headers.push('host', this.upstreamHost);
    const client = req.socket.remoteAddress ?? '';
    headers.push('x-forwarded-for', forwardedFor === undefined ? client : `${forwardedFor}, ${client}`);
    if (!forwardedProto) headers.push('x-forwarded-proto', this.protocol);
    return headers;
  }

  private forward(req: IncomingMessage, res: ServerResponse, decision: Decision | undefined): void {
    const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0');
    const abort = new AbortController();
    // The caller went away before the answer was complete: stop asking the upstream.
    const onClose = () => {
      if (!res.writableFinished) abort.abort();
    };
    res.once('close', onClose);
    this.pool.request(
      {
        method: req.method as 'GET',
        path: req.url ?? '/',
        headers: this.upstreamHeaders(req),
        body: hasBody ? req : null,
        signal: abort.signal,
      },
      (error, data) => {
        if (error) {
          this.upstreamFailed(req, res, error);
          return;
        }
        this.totals.forwarded++;
        const { statusCode, headers, body } = data;
        const listed = connectionListed(headers.connection);
        const out: Record<string, string | string[]> = {};
        for (const name in headers) {
          if (isHopByHop(name, listed)) continue;
          out[name] = headers[name]!;
        }
        const respond = () => {
          if (res.destroyed) {
            body.destroy();
            return;
          }
          try {
            res.writeHead(statusCode, out);
          } catch (error) {
            body.destroy();
            this.requestFailed(res, error);
            return;
          }
          if (decision?.throttle !== undefined) void this.throttle(body, res, decision.throttle);
          else pipeline(body, res, () => undefined);
        };
        if (decision && decision.firstByteDelayMs > 0) setTimeout(respond, decision.firstByteDelayMs);
        else respond();
      },
    );
  }

  private upstreamFailed(req: IncomingMessage, res: ServerResponse, error: Error): void {
    // The caller left (its close aborted the upstream call), or the request itself was malformed
    // mid-body and the HTTP parser has answered it already: nothing more to say on that socket.
    if (res.destroyed || res.headersSent || !req.socket.writable) {
      res.destroy();
      return;
    }
    this.totals.upstreamErrors++;
    const code = (error as NodeJS.ErrnoException).code;
    const body = `faultproxy ${this.config.name}: the upstream ${this.config.upstream} failed: ${code ? `${code} ` : ''}${error.message}\n`;
    res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body), 'x-faultproxy': 'upstream-error' });
    res.end(body);
  }

  /** Sends the body at most `bytesPerSecond`, in slices of a twentieth of a second's worth. */
  private async throttle(body: Readable, res: ServerResponse, bytesPerSecond: number): Promise<void> {
    const slice = Math.max(1, Math.floor(bytesPerSecond / 20));
    const started = Date.now();
    let sent = 0;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        for (let offset = 0; offset < chunk.length; offset += slice) {
          if (res.destroyed) {
            body.destroy();
            return;
          }
          const due = started + (sent / bytesPerSecond) * 1000;
          if (due > Date.now()) await sleep(due - Date.now());
          const piece = chunk.subarray(offset, offset + slice);
          sent += piece.length;
          if (!res.write(piece)) await new Promise((resolve) => res.once('drain', resolve));
        }
      }
      res.end();
    } catch {
      res.destroy();
    }
  }

  /** Malformed requests: a clean 4xx on a socket with no answer under way, else just a close. */
  private answerClientError(error: NodeJS.ErrnoException, socket: Socket): void {
    this.totals.clientErrors++;
    // node:http keeps the response being written on the socket here; mid-answer, raw bytes would corrupt it.
    const answering = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent;
    if (error.code === 'ECONNRESET' || !socket.writable || answering) {
      socket.destroy();
      return;
    }
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const body = `${STATUS_CODES[status]}\n`;
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  }
}
