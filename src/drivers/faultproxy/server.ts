// The fault proxy's own process: the proxies an experiment declares, and a small JSON control API on
// loopback to add and remove faults and read their counts. faultline starts it for a run (managed.ts)
// and stops it afterwards.
//
// Why a child process and not a server inside faultline: the run's own workload generator shares
// faultline's event loop, and a proxy starved by it would add latency that belongs to neither the fault
// nor the system under test; a process of its own also has a pid the ledger can name, so `faultline
// recover` (or a dead-man switch) can stop it after faultline was killed with -9, when nothing
// in-process would be left to close it. Its command line carries a token unique to the run, which is
// how a stop makes sure the pid is still this proxy and never a process that reused the number.
//
//   node server.js --faultproxy-token <token> --state-dir <dir>
// reads <dir>/config.json, writes <dir>/state.json once every proxy listens.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { STATE_DIR_FLAG, TOKEN_FLAG, type ServerConfig, type ServerState } from './control.js';
import { FaultProxy } from './proxy.js';
import type { FaultSpec } from './rules.js';

function argument(name: string): string {
  const index = process.argv.indexOf(name);
  const value = index === -1 ? undefined : process.argv[index + 1];
  if (!value) {
    process.stderr.write(`faultproxy: missing ${name}\n`);
    process.exit(2);
  }
  return value;
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 1_000_000) throw new Error('request body over 1 MB');
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

/** Checks the shape enough that a bad spec is a 400 here rather than a crash on the first request. */
function isFaultSpec(value: unknown): value is FaultSpec {
  const spec = value as FaultSpec;
  return typeof spec === 'object' && spec !== null && typeof spec.id === 'string' && typeof spec.salt === 'string' && typeof spec.match === 'object' && typeof spec.select?.kind === 'string' && typeof spec.do?.kind === 'string';
}

function controlHandler(proxies: Map<string, FaultProxy>, token: string) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0]!.split('/').filter(Boolean).map(decodeURIComponent);
    try {
      if (req.method === 'GET' && path.length === 1 && path[0] === 'status') {
        return sendJson(res, 200, { pid: process.pid, token, proxies: [...proxies.values()].map((p) => p.report()) });
      }
      if (path[0] !== 'proxies' || path.length < 2) return sendJson(res, 404, { error: 'no such route' });
      const proxy = proxies.get(path[1]!);
      if (!proxy) return sendJson(res, 404, { error: `no proxy named ${path[1]}`, proxies: [...proxies.keys()] });
      if (path.length === 2 && req.method === 'GET') return sendJson(res, 200, proxy.report());
      if (path.length !== 4 || path[2] !== 'faults') return sendJson(res, 404, { error: 'no such route' });
      const id = path[3]!;
      if (req.method === 'PUT') {
        const spec = await readJson(req);
        if (!isFaultSpec(spec) || spec.id !== id) return sendJson(res, 400, { error: 'expected a fault spec with this id' });
        return proxy.addFault(spec) === 'added' ? sendJson(res, 201, proxy.fault(id)) : sendJson(res, 409, { error: `fault ${id} exists already` });
      }
      if (req.method === 'DELETE') {
        const report = proxy.removeFault(id);
        return report ? sendJson(res, 200, report) : sendJson(res, 404, { error: `no fault ${id}` });
      }
      if (req.method === 'GET') {
        const report = proxy.fault(id);
        return report ? sendJson(res, 200, report) : sendJson(res, 404, { error: `no fault ${id}` });
      }
      return sendJson(res, 405, { error: 'method not allowed' });
    } catch (error) {
      return sendJson(res, 400, { error: error instanceof Error ? error.message : String(error) });
    }
  };
}

async function main(): Promise<void> {
  const token = argument(TOKEN_FLAG);
  const stateDir = argument(STATE_DIR_FLAG);
  const config = JSON.parse(readFileSync(join(stateDir, 'config.json'), 'utf8')) as ServerConfig;
  const proxies = new Map<string, FaultProxy>();
  const listening: Record<string, string> = {};
  for (const proxyConfig of config.proxies) {
    const proxy = new FaultProxy(proxyConfig, config.seed);
    listening[proxyConfig.name] = await proxy.listen();
    proxies.set(proxyConfig.name, proxy);
  }
  const control = createServer(controlHandler(proxies, token));
  await new Promise<void>((resolve, reject) => {
    control.once('error', reject);
    control.listen(0, '127.0.0.1', () => resolve());
  });
  const address = control.address();
  const state: ServerState = { pid: process.pid, token, control: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, proxies: listening };
  // Written whole, then renamed: the parent polls for it and must never read half of it.
  const statePath = join(stateDir, 'state.json');
  writeFileSync(`${statePath}.tmp`, JSON.stringify(state));
  renameSync(`${statePath}.tmp`, statePath);
  process.stdout.write(`faultproxy ${process.pid} serving ${Object.entries(listening).map(([n, l]) => `${n} on ${l}`).join(', ')}; control on ${state.control}\n`);

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`faultproxy ${process.pid}: ${signal}, closing\n`);
    control.close();
    control.closeAllConnections();
    void Promise.all([...proxies.values()].map((p) => p.close())).then(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((error: unknown) => {
  process.stderr.write(`faultproxy: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
