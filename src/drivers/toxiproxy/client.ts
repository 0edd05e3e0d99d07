// Talking to a Toxiproxy server through toxiproxy-node-client, with its gaps closed here and nowhere
// else: every request is bounded in time, a refused request keeps the server's status and message,
// proxies are updated with PATCH, and proxies are listed with their toxics. The library (4.x) declares
// engines node >= 18 and ships CommonJS with its own types; it uses the global fetch, so Node 20 suits it.
import type { ICreateToxicBody, Proxy as LibraryProxy, Toxiproxy } from 'toxiproxy-node-client';
// Not re-exported by the package's index, but its own module, with types, in the published files.
import { FaultlineError, errorMessage } from '../../core/errors.js';

/** Longest one API call may take: a server that accepts connections but never answers must not hang a run. */
export const REQUEST_TIMEOUT_MS = 5_000;

export type Stream = 'upstream' | 'downstream';

/** The toxic types of Toxiproxy 2.x (`down` is not one: it is a disabled proxy). */
export type ToxicType = 'latency' | 'bandwidth' | 'slow_close' | 'timeout' | 'reset_peer' | 'slicer' | 'limit_data';

export interface ToxicInfo {
  name: string;
  type: string;
  stream: Stream;
  toxicity: number;
  attributes: Record<string, number>;
}

export interface ProxyInfo {
  name: string;
  listen: string;
  upstream: string;
  enabled: boolean;
  toxics: ToxicInfo[];
}

/** A request the server answered with an error status; `serverMessage` is its own words ("toxic already exists"). */
export class ToxiproxyApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly serverMessage: string,
  ) {
    super(`${method} ${path}: HTTP ${status}: ${serverMessage}`);
    this.name = 'ToxiproxyApiError';
  }
}

/** No answer at all: refused, reset or timed out. `refused` is the one case that proves nothing listens. */
export class ToxiproxyUnreachableError extends Error {
  constructor(
    readonly url: string,
    readonly refused: boolean,
    message: string,
  ) {
    super(`the Toxiproxy server at ${url} does not answer: ${message}`);
    this.name = 'ToxiproxyUnreachableError';
  }
}

function describeFetchFailure(error: unknown): { message: string; refused: boolean } {
  const cause = error instanceof Error ? (error.cause as NodeJS.ErrnoException | undefined) : undefined;
  if (error instanceof Error && error.name === 'TimeoutError') return { message: `no answer within ${REQUEST_TIMEOUT_MS} ms`, refused: false };
  if (cause?.code) return { message: `${cause.code}${cause.message ? ` (${cause.message})` : ''}`, refused: cause.code === 'ECONNREFUSED' };
  return { message: errorMessage(error), refused: false };
}

/** The library's objects for one server, loaded at the first call (validating an experiment never loads it). */
interface Library {
  client: Toxiproxy;
  http: BoundedTransport;
  Proxy: typeof LibraryProxy;
}

interface BoundedTransport {
  get<T>(url: string): Promise<{ data: T }>;
  patch<T>(url: string, body: unknown): Promise<{ data: T }>;
  delete(url: string): Promise<void>;
}

async function loadLibrary(baseUrl: string): Promise<Library> {
  const [{ Toxiproxy, Proxy }, { HttpClient }] = await Promise.all([import('toxiproxy-node-client'), import('toxiproxy-node-client/dist/HttpClient.js')]);
  /**
   * The library's HttpClient throws "Request failed with status code 409" and drops the body, where the
   * server says which proxy or toxic is missing or taken; it has no timeout; and it has no PATCH, which the
   * server prefers for updates (it logs POST as deprecated). This subclass replaces the transport of the
   * library's public methods, so the library's Toxiproxy, Proxy and Toxic objects all go through it.
   */
  class BoundedHttpClient extends HttpClient {
    constructor(private readonly baseUrl: string) {
      super();
    }

    override async get<T>(url: string): Promise<{ data: T }> {
      return { data: (await this.send('GET', url)) as T };
    }

    override async post<T>(url: string, body?: unknown): Promise<{ data: T }> {
      return { data: (await this.send('POST', url, body)) as T };
    }

    async patch<T>(url: string, body: unknown): Promise<{ data: T }> {
      return { data: (await this.send('PATCH', url, body)) as T };
    }

    override async delete(url: string): Promise<void> {
      await this.send('DELETE', url);
    }

    override async getText(url: string): Promise<string> {
      return String(await this.send('GET', url, undefined, true));
    }

    private async send(method: string, url: string, body?: unknown, asText = false): Promise<unknown> {
      let response: Response;
      try {
        response = await fetch(url, {
          method,
          signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
          ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
        });
      } catch (error) {
        const { message, refused } = describeFetchFailure(error);
        throw new ToxiproxyUnreachableError(this.baseUrl, refused, message);
      }
      const text = await response.text();
      const path = url.slice(this.baseUrl.length) || '/';
      if (!response.ok) {
        // The server answers errors as {"error": "...", "status": N}.
        let message = text.trim();
        try {
          message = String((JSON.parse(text) as { error?: unknown }).error ?? message);
        } catch {
          // not JSON: keep the text
        }
        throw new ToxiproxyApiError(method, path, response.status, message || response.statusText);
      }
      if (asText || text.trim() === '') return text;
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return text;
      }
    }
  }

  const client = new Toxiproxy(baseUrl);
  const http = new BoundedHttpClient(baseUrl);
  // Proxy and Toxic objects copy `api` from here when they are made, so every call uses the bounded transport.
  client.api = http;
  return { client, http, Proxy };
}

/** The calls the driver makes, on the library's objects where they fit. */
export class ToxiproxyConnection {
  private library: Promise<Library> | undefined;

  constructor(readonly url: string) {
    this.url = url.replace(/\/+$/, '');
  }

  private lib(): Promise<Library> {
    this.library ??= loadLibrary(this.url);
    return this.library;
  }

  /** The server's version; v2 answers {"version": "…"}, older ones the bare text. */
  async version(): Promise<string> {
    const text = (await (await this.lib()).client.getVersion()).trim();
    try {
      return String((JSON.parse(text) as { version?: unknown }).version ?? text);
    } catch {
      return text;
    }
  }

  /**
   * Every proxy with its toxics. The library's getAll() builds Proxy objects that drop the `toxics` the
   * server sends, so the list is read through the same transport as plain JSON.
   */
  async proxies(): Promise<ProxyInfo[]> {
    const { data } = await (await this.lib()).http.get<Record<string, ProxyInfo>>(`${this.url}/proxies`);
    return Object.values(data ?? {}).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** One proxy with its toxics, or undefined when the server has no such proxy. */
  async proxy(name: string): Promise<ProxyInfo | undefined> {
    try {
      const { data } = await (await this.lib()).http.get<ProxyInfo>(`${this.url}/proxies/${encodeURIComponent(name)}`);
      return data;
    } catch (error) {
      if (error instanceof ToxiproxyApiError && error.status === 404) return undefined;
      throw error;
    }
  }

  async createProxy(body: { name: string; listen: string; upstream: string }): Promise<ProxyInfo> {
    const proxy = await (await this.lib()).client.createProxy({ ...body, enabled: true });
    return { name: proxy.name, listen: proxy.listen, upstream: proxy.upstream, enabled: proxy.enabled, toxics: [] };
  }

  /** True when it was deleted, false when it was not there. */
  async deleteProxy(name: string): Promise<boolean> {
    try {
      await (await this.lib()).http.delete(`${this.url}/proxies/${encodeURIComponent(name)}`);
      return true;
    } catch (error) {
      if (error instanceof ToxiproxyApiError && error.status === 404) return false;
      throw error;
    }
  }

  /**
   * Enables or disables a proxy. The library's Proxy.update() POSTs the whole proxy, which the server
   * logs as deprecated; PATCH with only `enabled` changes nothing else.
   */
  async setEnabled(name: string, enabled: boolean): Promise<ProxyInfo> {
    const { data } = await (await this.lib()).http.patch<ProxyInfo>(`${this.url}/proxies/${encodeURIComponent(name)}`, { enabled });
    return data;
  }

  /**
   * Adds a toxic. The library types only some toxics' attributes (reset_peer and limit_data are missing
   * from its exports), so attributes are passed as plain numbers checked by the driver's own schemas.
   */
  async addToxic(proxyName: string, toxic: ToxicInfo): Promise<ToxicInfo> {
    // A Proxy object needs only the name to add a toxic: skipping the library's GET keeps a round trip
    // off the time between a fault's scheduled start and its toxic being live.
    const { client, Proxy } = await this.lib();
    const proxy = new Proxy(client, { name: encodeURIComponent(proxyName), listen: '', upstream: '', enabled: true, toxics: [] });
    const body = toxic as unknown as ICreateToxicBody<Record<string, number>>;
    const created = await proxy.addToxic(body);
    return created.toJson() as unknown as ToxicInfo;
  }

  /** Removes a toxic; says what it found when there was nothing to remove. */
  async removeToxic(proxyName: string, toxicName: string): Promise<'removed' | 'toxic-missing' | 'proxy-missing'> {
    try {
      await (await this.lib()).http.delete(`${this.url}/proxies/${encodeURIComponent(proxyName)}/toxics/${encodeURIComponent(toxicName)}`);
      return 'removed';
    } catch (error) {
      if (error instanceof ToxiproxyApiError && error.status === 404) {
        return /proxy/i.test(error.serverMessage) ? 'proxy-missing' : 'toxic-missing';
      }
      throw error;
    }
  }
}

/** A driver error for a failed call, with a hint that matches what went wrong. */
export function toDriverError(error: unknown, what: string): FaultlineError {
  if (error instanceof FaultlineError) return error;
  if (error instanceof ToxiproxyUnreachableError) {
    return new FaultlineError('E_DRIVER', `${what}: ${error.message}`, {
      cause: error,
      hint: 'Is toxiproxy-server running there? Set targets.toxiproxy.url, or `managed: true` to let faultline start one.',
    });
  }
  if (error instanceof ToxiproxyApiError) {
    return new FaultlineError('E_DRIVER', `${what}: the server answered ${error.status}: ${error.serverMessage}`, { cause: error });
  }
  return new FaultlineError('E_DRIVER', `${what}: ${errorMessage(error)}`, { cause: error });
}
