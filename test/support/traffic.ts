// Real traffic for network-fault tests: small servers on loopback and clients that measure what a
// caller sees (status, time, bytes, or the error), every wait bounded.
import { createServer as createHttpServer, get, type IncomingMessage, type ServerResponse } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo, type Server, type Socket } from 'node:net';

export interface Listening {
  port: number;
  close(): Promise<void>;
}

function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  return new Promise((resolve) => server.close(() => resolve()));
}

function track(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return sockets;
}

/** An HTTP server on 127.0.0.1; the handler answers each request. */
export async function startHttpServer(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Listening> {
  const server = createHttpServer(handler);
  const sockets = track(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as AddressInfo).port, close: () => closeServer(server, sockets) };
}

/** A TCP server that greets each connection with `greeting` and records every byte it receives. */
export async function startGreetingServer(greeting: string): Promise<Listening & { received: () => string; connections: () => number }> {
  let received = '';
  let connections = 0;
  const server = createTcpServer((socket) => {
    connections += 1;
    socket.on('error', () => {});
    socket.on('data', (data) => (received += data.toString()));
    socket.write(greeting);
  });
  const sockets = track(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => closeServer(server, sockets),
    received: () => received,
    connections: () => connections,
  };
}

export interface HttpResult {
  status: number | null;
  ms: number;
  bytes: number;
  error?: string;
}

/** One GET on a fresh connection (no keep-alive), bounded by timeoutMs. */
export function httpGet(port: number, path = '/', timeoutMs = 5_000): Promise<HttpResult> {
  return new Promise((resolve) => {
    const started = performance.now();
    let settled = false;
    const finish = (result: Omit<HttpResult, 'ms'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...result, ms: performance.now() - started });
    };
    const req = get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => finish({ status: res.statusCode ?? null, bytes }));
      res.on('error', (error: NodeJS.ErrnoException) => finish({ status: null, bytes, error: error.code ?? error.message }));
    });
    req.on('error', (error: NodeJS.ErrnoException) => finish({ status: null, bytes: 0, error: error.code ?? error.message }));
    const timer = setTimeout(() => {
      finish({ status: null, bytes: 0, error: 'timeout' });
      req.destroy();
    }, timeoutMs);
  });
}

export interface TcpExchange {
  /** What came back from the server within the wait. */
  received: string;
  /** Whether the connection was closed (by either side's peer) within the wait. */
  closed: boolean;
  error?: string;
}

/** Connects, sends `message`, and collects what comes back for `waitMs`. */
export function tcpExchange(port: number, message: string, waitMs: number): Promise<TcpExchange> {
  return new Promise((resolve) => {
    let received = '';
    let closed = false;
    let error: string | undefined;
    const socket = connect(port, '127.0.0.1', () => socket.write(message));
    socket.on('data', (data) => (received += data.toString()));
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on('close', () => (closed = true));
    setTimeout(() => {
      socket.destroy();
      resolve(error === undefined ? { received, closed } : { received, closed, error });
    }, waitMs);
  });
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}
