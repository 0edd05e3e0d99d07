// The contract between faultline and the fault proxy's process: the flags and files it starts with,
// the state it writes once it serves, and a client for its control API (add and remove faults, read
// their counts). Every call is bounded in time: a proxy that accepts but never answers must not hang a run.
import type { ProxyConfig, ProxyTotals } from './proxy.js';
import type { FaultReport, FaultSpec } from './rules.js';

export const TOKEN_FLAG = '--faultproxy-token';
export const STATE_DIR_FLAG = '--state-dir';
export const CONTROL_TIMEOUT_MS = 5_000;

export interface ServerConfig {
  seed: number;
  proxies: ProxyConfig[];
}

/** What the process writes to <state dir>/state.json once every proxy listens. */
export interface ServerState {
  pid: number;
  token: string;
  /** The control API: http://127.0.0.1:<port>. */
  control: string;
  /** Where each proxy listens, host:port. */
  proxies: Record<string, string>;
}

export interface ProxyReport {
  name: string;
  upstream: string;
  totals: ProxyTotals;
  faults: FaultReport[];
}

/** The control API answered with an error status. */
export class ControlApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'ControlApiError';
  }
}

export class ControlClient {
  constructor(readonly url: string) {}

  private async call(method: string, path: string, body?: unknown): Promise<{ status: number; value: unknown }> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      signal: AbortSignal.timeout(CONTROL_TIMEOUT_MS),
      ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
    });
    const text = await response.text();
    const value = text ? (JSON.parse(text) as unknown) : undefined;
    return { status: response.status, value };
  }

  private static fail(status: number, value: unknown, what: string): never {
    throw new ControlApiError(status, `${what}: HTTP ${status}: ${(value as { error?: string } | undefined)?.error ?? 'no reason given'}`);
  }

  async status(): Promise<{ pid: number; token: string; proxies: ProxyReport[] }> {
    const { status, value } = await this.call('GET', '/status');
    if (status !== 200) ControlClient.fail(status, value, 'status');
    return value as { pid: number; token: string; proxies: ProxyReport[] };
  }

  async proxy(name: string): Promise<ProxyReport | undefined> {
    const { status, value } = await this.call('GET', `/proxies/${encodeURIComponent(name)}`);
    if (status === 404) return undefined;
    if (status !== 200) ControlClient.fail(status, value, `proxy ${name}`);
    return value as ProxyReport;
  }

  /** 'exists' when a fault with that id is (or was) on the proxy already. */
  async addFault(proxy: string, spec: FaultSpec): Promise<'added' | 'exists'> {
    const { status, value } = await this.call('PUT', `/proxies/${encodeURIComponent(proxy)}/faults/${encodeURIComponent(spec.id)}`, spec);
    if (status === 201) return 'added';
    if (status === 409) return 'exists';
    return ControlClient.fail(status, value, `adding fault ${spec.id} to proxy ${proxy}`);
  }

  /** The fault's final counts; undefined when the proxy never had it. Removing twice is harmless. */
  async removeFault(proxy: string, id: string): Promise<FaultReport | undefined> {
    const { status, value } = await this.call('DELETE', `/proxies/${encodeURIComponent(proxy)}/faults/${encodeURIComponent(id)}`);
    if (status === 404) return undefined;
    if (status !== 200) ControlClient.fail(status, value, `removing fault ${id} from proxy ${proxy}`);
    return value as FaultReport;
  }

  /** The fault's counts, in force or removed; undefined when the proxy never had it. */
  async fault(proxy: string, id: string): Promise<FaultReport | undefined> {
    const { status, value } = await this.call('GET', `/proxies/${encodeURIComponent(proxy)}/faults/${encodeURIComponent(id)}`);
    if (status === 404) return undefined;
    if (status !== 200) ControlClient.fail(status, value, `reading fault ${id} on proxy ${proxy}`);
    return value as FaultReport;
  }
}
