// The `tcp` probe: can a TCP connection be opened within a bound? Used for ports that speak no HTTP
// (databases, brokers) and for proving a black-holed dependency is really cut off.
import { connect } from 'node:net';
import { z } from 'zod';
import { durationSchema, formatDuration } from '../../core/duration.js';
import { defineDriver } from '../contract.js';
import type { DriverContext, Output, ProbeDefinition } from '../types.js';

const connectArgs = z.strictObject({
  host: z.string().min(1).default('127.0.0.1').meta({ description: 'Host name or address; default 127.0.0.1.' }),
  port: z.int().min(1).max(65_535).meta({ description: 'TCP port.' }),
  timeout: durationSchema.default(2000).meta({ description: 'Longest wait for the connection (default 2s).' }),
});
type ConnectArgs = z.output<typeof connectArgs>;

export interface TcpConnectOutput extends Output {
  connected: boolean;
  latency: number;
  error?: string;
}

export function openConnection(args: ConnectArgs, ctx: DriverContext): Promise<TcpConnectOutput> {
  return new Promise((resolve, reject) => {
    if (ctx.signal.aborted) {
      reject(ctx.signal.reason);
      return;
    }
    const started = performance.now();
    const socket = connect({ host: args.host, port: args.port });
    const finish = (outcome: { error?: string; abort?: unknown }): void => {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onAbort);
      socket.removeAllListeners();
      // A probe must leave nothing open behind it, whatever the outcome.
      socket.on('error', () => {});
      socket.destroy();
      if (outcome.abort !== undefined) {
        reject(outcome.abort);
        return;
      }
      const latency = Math.round(performance.now() - started);
      resolve(outcome.error === undefined ? { connected: true, latency } : { connected: false, latency, error: outcome.error });
    };
    const onAbort = (): void => finish({ abort: ctx.signal.reason ?? new Error('aborted') });
    const timer = setTimeout(() => finish({ error: `timeout after ${formatDuration(args.timeout)}` }), args.timeout);
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => finish({}));
    socket.once('error', (error) => finish({ error: describeSocketError(error) }));
  });
}

function describeSocketError(error: Error): string {
  // With several addresses (localhost → ::1, 127.0.0.1) Node reports an AggregateError with an empty message.
  if (error instanceof AggregateError && error.errors.length > 0) {
    const first: unknown = error.errors[0];
    return first instanceof Error ? first.message : String(first);
  }
  return error.message || String((error as NodeJS.ErrnoException).code ?? 'connection failed');
}

const connectProbe: ProbeDefinition<ConnectArgs> = {
  description: 'Open a TCP connection and close it again.',
  args: connectArgs,
  outputs: {
    connected: 'true when the connection opened within the timeout',
    latency: 'milliseconds until the connection opened or failed',
    error: 'why it did not connect, e.g. "connect ECONNREFUSED 127.0.0.1:5432" or "timeout after 2s"',
  },
  defaultExpect: { connected: true },
  run: (args, ctx) => openConnection(args, ctx),
};

export const tcpDriver = defineDriver({
  name: 'tcp',
  description: 'TCP connections as probes: does a port accept connections, and how fast.',
  defaultProbe: 'connect',
  actions: {},
  probes: { connect: connectProbe },
  undos: {},
});
