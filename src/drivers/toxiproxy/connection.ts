// Which Toxiproxy server a step talks to, and what it may touch there: the `targets.toxiproxy` settings,
// the managed server of the current run, and the proxy allow-list.
import { z } from 'zod';
import { FaultlineError } from '../../core/errors.js';
import { isValidPattern } from '../selection.js';
import type { ActionDefinition, DriverContext, ProbeDefinition, ProvisionDefinition, UndoDefinition } from '../types.js';
import { ToxiproxyConnection, type ProxyInfo } from './client.js';
import type { ManagedServerFiles } from './managed.js';

export const DEFAULT_URL = 'http://127.0.0.1:8474';

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'expected host:port, like 127.0.0.1:26379')
  .meta({ description: 'host:port' });

export const declaredProxySchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'expected letters, digits, ".", "_" or "-"').meta({ description: 'Proxy name.' }),
  listen: hostPort.meta({ description: 'Where the proxy listens, like 127.0.0.1:26379 (port 0: any free port).' }),
  upstream: hostPort.meta({ description: 'Where it forwards to, like 127.0.0.1:6379.' }),
});
export type DeclaredProxy = z.output<typeof declaredProxySchema>;

export const targetSettings = z
  .strictObject({
    url: z
      .url({ protocol: /^https?$/, error: 'expected an http:// URL' })
      .optional()
      .meta({ description: `The Toxiproxy API (default ${DEFAULT_URL}). With managed: where the managed server listens (default: a free port on 127.0.0.1).` }),
    managed: z.boolean().default(false).meta({ description: 'Start a toxiproxy-server for this run and stop it afterwards.' }),
    server: z
      .string()
      .min(1)
      .default('toxiproxy-server')
      .meta({ description: 'With managed: the server program, a name on PATH or a path relative to the experiment file.' }),
    proxies: z
      .array(declaredProxySchema)
      .default([])
      .meta({ description: 'Proxies the experiment needs: created for the run if missing, and removed afterwards if the run created them.' }),
    allow: z
      .array(z.string().refine(isValidPattern, 'expected a regular expression'))
      .optional()
      .meta({ description: 'Regular expressions for more proxy names faults may touch. With proxies or allow set, faults touch nothing else.' }),
  })
  .meta({ description: 'The Toxiproxy server and the proxies faults may touch.' });
export type TargetSettings = z.output<typeof targetSettings>;

/** What the toxiproxy driver keeps for one run: the server it started, set by the provision, read by every later step. */
export interface ToxiproxySession {
  managed?: ServerRef | undefined;
}

export type ToxiproxyContext = DriverContext<TargetSettings, ToxiproxySession>;
/** An action of this driver, taking args A and handing state S from prepare to apply. */
export type ToxiproxyAction<A, S = undefined> = ActionDefinition<A, S, ToxiproxyContext>;
export type ToxiproxyProbe<A> = ProbeDefinition<A, ToxiproxyContext>;
export type ToxiproxyUndo<A> = UndoDefinition<A, ToxiproxyContext>;
export type ToxiproxyProvision<S> = ProvisionDefinition<S, ToxiproxyContext>;

export function settingsOf(ctx: ToxiproxyContext): TargetSettings {
  // The engine hands over the parsed target; a direct call (tests, recover) may pass nothing.
  return ctx.target ?? targetSettings.parse({});
}

/** A server as undo arguments carry it: `faultline recover` has no experiment targets to look it up in. */
export interface ServerRef {
  url: string;
  /** Set for a managed server: its pidfile tells whether it (and every toxic on it) is gone. */
  managed?: ManagedServerFiles | undefined;
}

/**
 * The server a step of this run talks to; undefined when it is a managed server not started yet, which
 * happens only while planning (plan and --dry-run start nothing).
 */
export function serverFor(ctx: ToxiproxyContext): ServerRef | undefined {
  const settings = settingsOf(ctx);
  if (settings.managed) return ctx.session.managed;
  return { url: (settings.url ?? DEFAULT_URL).replace(/\/+$/, '') };
}

export function connect(server: ServerRef): ToxiproxyConnection {
  return new ToxiproxyConnection(server.url);
}

/** Refuses a proxy the experiment does not allow (declared proxies and `allow` patterns). */
export function checkProxyAllowed(name: string, ctx: ToxiproxyContext): void {
  const settings = settingsOf(ctx);
  if (settings.proxies.length === 0 && settings.allow === undefined) return;
  if (settings.proxies.some((p) => p.name === name)) return;
  if ((settings.allow ?? []).some((pattern) => new RegExp(pattern).test(name))) return;
  const allowed = [...settings.proxies.map((p) => p.name), ...(settings.allow ?? []).map((p) => `/${p}/`)];
  throw new FaultlineError('E_PREFLIGHT', `proxy "${name}" is not allowed by targets.toxiproxy`, {
    hint: `allowed: ${allowed.join(', ') || 'nothing'}; declare it under targets.toxiproxy.proxies or match it in targets.toxiproxy.allow`,
  });
}

export function unknownProxyError(name: string, existing: ProxyInfo[], url: string): FaultlineError {
  const names = existing.map((p) => p.name);
  return new FaultlineError('E_DRIVER', `unknown proxy "${name}" on ${url}; it has ${names.length ? names.join(', ') : 'no proxies'}`, {
    hint: 'Check the name, or declare the proxy under targets.toxiproxy.proxies so the run creates it.',
  });
}

export function describeProxy(proxy: Pick<ProxyInfo, 'name' | 'listen' | 'upstream'>): string {
  return `proxy ${proxy.name} (${proxy.listen} → ${proxy.upstream})`;
}
