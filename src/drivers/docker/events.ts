// The engine's event stream (GET /events), read as a queue: the driver waits for `die`, `pause`,
// `start` and `health_status` events instead of polling container state in a loop. Times come from
// the engine's own clock (timeNano), so durations between two events need no clock agreement.
import type Docker from 'dockerode';
import { dockerError } from './connection.js';

/** One container event as the engine sends it; @types/dockerode types the stream as bytes only. */
export interface DockerEvent {
  Type: string;
  /** `die`, `start`, `pause`, `kill`, `health_status: healthy`, … */
  Action: string;
  Actor: { ID: string; Attributes?: Record<string, string> };
  time: number;
  timeNano: number;
}

/** The event's time in epoch milliseconds, with the sub-millisecond part kept. */
export function eventTimeMs(event: DockerEvent): number {
  return event.timeNano ? event.timeNano / 1e6 : event.time * 1000;
}

/**
 * `since`/`until` as the engine parses them: seconds, a dot, nanoseconds in nine digits. A plain
 * JavaScript fraction ("12.5") would be read as 12 s and 5 ns.
 */
export function engineTimestamp(epochMs: number): string {
  const seconds = Math.floor(epochMs / 1000);
  const nanos = Math.round((epochMs - seconds * 1000) * 1e6);
  return `${seconds}.${String(Math.min(nanos, 999_999_999)).padStart(9, '0')}`;
}

export interface EventFeedOptions {
  /** Replay the events from this time (epoch ms) before streaming new ones. */
  sinceMs?: number;
  /** The engine ends the stream at this time (epoch ms): a server-side bound on every wait. */
  untilMs: number;
  containerIds: string[];
  signal?: AbortSignal;
}

/**
 * A subscription to the container events of some containers. Open it before acting, so the event
 * that confirms the action cannot slip by; `sinceMs` also replays what the engine buffered.
 */
export class EventFeed {
  private readonly queue: DockerEvent[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;
  private buffer = '';

  private constructor(private readonly stream: NodeJS.ReadableStream & { destroy?: () => void }) {
    stream.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('utf8');
      let newline: number;
      while ((newline = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, newline).trim();
        this.buffer = this.buffer.slice(newline + 1);
        if (!line) continue;
        try {
          this.queue.push(JSON.parse(line) as DockerEvent);
        } catch {
          // A line that is not JSON is not an event; the engine sends none, so nothing is lost.
        }
      }
      this.wake();
    });
    const end = () => {
      this.ended = true;
      this.wake();
    };
    stream.on('end', end);
    stream.on('close', end);
    stream.on('error', end);
  }

  static async open(docker: Docker, dockerHost: string, options: EventFeedOptions): Promise<EventFeed> {
    const filters: Record<string, string[]> = { type: ['container'], container: options.containerIds };
    const query: Record<string, unknown> = { filters, until: engineTimestamp(options.untilMs) };
    if (options.sinceMs !== undefined) query.since = engineTimestamp(options.sinceMs);
    if (options.signal) query.abortSignal = options.signal;
    try {
      const stream = (await docker.getEvents(query as Docker.GetEventsOptions)) as NodeJS.ReadableStream & { destroy?: () => void };
      return new EventFeed(stream);
    } catch (error) {
      throw dockerError(dockerHost, 'cannot read the engine\'s events', error);
    }
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.();
  }

  /** The next event, or undefined once the stream ended (its `until`), `deadlineMs` passed, or the signal aborted. */
  async next(deadlineMs: number, signal?: AbortSignal): Promise<DockerEvent | undefined> {
    for (;;) {
      const event = this.queue.shift();
      if (event) return event;
      if (this.ended || signal?.aborted || Date.now() >= deadlineMs) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.max(0, deadlineMs - Date.now()));
        const onAbort = () => done();
        signal?.addEventListener('abort', onAbort, { once: true });
        function done() {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          resolve();
        }
        this.waiter = done;
      });
    }
  }

  /** Reads events until `match` returns true for one (it is returned) or the feed ends. */
  async waitFor(match: (event: DockerEvent) => boolean, deadlineMs: number, signal?: AbortSignal): Promise<DockerEvent | undefined> {
    for (;;) {
      const event = await this.next(deadlineMs, signal);
      if (event === undefined || match(event)) return event;
    }
  }

  /** Drops what arrived so far: events from before an action cannot confirm it. */
  discardQueued(): void {
    this.queue.length = 0;
  }

  get closed(): boolean {
    return this.ended;
  }

  close(): void {
    this.ended = true;
    this.stream.destroy?.();
    this.wake();
  }
}
