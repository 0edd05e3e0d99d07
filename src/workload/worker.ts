// The entry of one worker process of a split workload (`workload.replicas` > 1). Forked by the run
// (replicated.ts), it takes its orders over IPC: it drives its share of the traffic on the run's
// clock (worker-session.ts), reports each second as it completes and, at the end, its windows with
// their HDR histograms, for the run to merge. Signals are the run's to handle (a Ctrl-C reaches the
// whole process group), and a run that goes away (its IPC channel closes) ends the worker at once.
// Started with `--spec`, it runs on its own instead and writes its result to a file (worker-standalone.ts).
import { runStandalone } from './worker-standalone.js';
import { WorkerSession } from './worker-session.js';
import type { FromWorker, ToWorker } from './worker-protocol.js';

/** How often finished seconds are sent: live progress and abort conditions see them this late at most. */
const REPORT_EVERY_MS = 200;

function send(message: FromWorker): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) resolve();
    else process.send(message, undefined, {}, () => resolve());
  });
}

function runWorker(): void {
  let session: WorkerSession | undefined;
  let reporter: NodeJS.Timeout | undefined;

  const handle = async (message: ToWorker): Promise<void> => {
    switch (message.type) {
      case 'ping':
        void send({ type: 'pong', id: message.id, nowNs: process.hrtime.bigint().toString() });
        return;
      case 'start': {
        const started = new WorkerSession(BigInt(message.originNs), message.options, message.phaseMs);
        session = started;
        started.start();
        reporter = setInterval(() => void send(started.completeSeconds()), REPORT_EVERY_MS);
        return;
      }
      case 'fault-applied':
      case 'fault-ended':
        session?.windowEvent(message);
        return;
      case 'stop':
        clearInterval(reporter);
        await session?.stop(message.abandon);
        await send({ type: 'stopped' });
        return;
      case 'finish':
        // Exits once the result is down the channel.
        await send(session?.finish(message.endMs) ?? { type: 'result', windows: [], seconds: [], windowLagMs: 0 });
        process.disconnect();
        return;
    }
  };

  process.on('message', (message: ToWorker) => {
    handle(message).catch(async (error: unknown) => {
      process.exitCode = 1;
      await send({ type: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      process.disconnect();
    });
  });
  // The run stops its workers itself, rollbacks first; a signal meant for the run must not cut traffic short.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => undefined);
  process.on('disconnect', () => process.exit());
  void send({ type: 'ready' });
}

if (process.argv.includes('--spec')) {
  process.exitCode = await runStandalone(process.argv.slice(2), process.env);
} else if (process.send) {
  runWorker();
} else {
  // Without the run's IPC channel or a spec there is nobody to take orders from or report to.
  process.stderr.write('faultline workload worker: started by `faultline run` for `workload.replicas` > 1, or with --spec <file> --out <file> [--index N]\n');
  process.exitCode = 2;
}
