// The entry of one worker process of a split workload (`workload.replicas` > 1), forked by the run
// (replicated.ts): it drives its share of the traffic on the run's clock, reports each second as it
// completes and, at the end, its windows with their HDR histograms, for the run to merge. The run
// commands it over IPC; signals are the run's to handle (a Ctrl-C reaches the whole process group),
// and a run that goes away (its IPC channel closes) ends the worker at once.
import { successRule, Workload } from './generator.js';
import { MergeableHistogram } from './mergeable-histogram.js';
import { secondState, windowState } from './merge.js';
import type { FromWorker, SecondState, ToWorker } from './worker-protocol.js';

/** How often finished seconds are sent: live progress and abort conditions see them this late at most. */
const REPORT_EVERY_MS = 200;

function send(message: FromWorker): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) resolve();
    else process.send(message, undefined, {}, () => resolve());
  });
}

function runWorker(): void {
  let workload: Workload | undefined;
  let origin = 0n;
  let windowLagMs = 0;
  let reporter: NodeJS.Timeout | undefined;
  const finished: SecondState[] = [];
  const elapsed = () => Number(process.hrtime.bigint() - origin) / 1e6;

  const report = () => {
    if (!workload) return;
    const now = elapsed();
    workload.recorder.tick(now);
    void send({ type: 'seconds', seconds: finished.splice(0), through: Math.floor(now / 1000) - 1 });
  };

  const handle = async (message: ToWorker): Promise<void> => {
    switch (message.type) {
      case 'ping':
        void send({ type: 'pong', id: message.id, nowNs: process.hrtime.bigint().toString() });
        return;
      case 'start': {
        origin = BigInt(message.originNs);
        const { success, ...options } = message.options;
        workload = new Workload({ ...options, isSuccess: successRule(success) }, elapsed, {
          startedAt: 0,
          phaseMs: message.phaseMs,
          recorder: { newHistogram: () => new MergeableHistogram(), logGaps: true, onRawSecond: (second) => finished.push(secondState(second)) },
        });
        workload.start();
        reporter = setInterval(report, REPORT_EVERY_MS);
        return;
      }
      case 'fault-applied':
        windowLagMs = Math.max(windowLagMs, elapsed() - message.atMs);
        workload?.recorder.faultApplied(message.key, message.name, message.atMs);
        workload?.reassignSince(message.atMs);
        return;
      case 'fault-ended':
        windowLagMs = Math.max(windowLagMs, elapsed() - message.atMs);
        workload?.recorder.faultEnded(message.key, message.atMs);
        workload?.reassignSince(message.atMs);
        return;
      case 'stop':
        clearInterval(reporter);
        await workload?.stop(message.abandon);
        await send({ type: 'stopped' });
        return;
      case 'finish': {
        const windows = workload?.recorder.close(message.endMs) ?? [];
        // Exits once the result is down the channel.
        await send({ type: 'result', windows: windows.map(windowState), seconds: finished.splice(0), windowLagMs });
        process.disconnect();
        return;
      }
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

if (process.send) runWorker();
else {
  // Without the run's IPC channel there is nobody to take orders from or report to.
  process.stderr.write('faultline workload worker: started by `faultline run` for `workload.replicas` > 1, not by hand\n');
  process.exitCode = 2;
}
