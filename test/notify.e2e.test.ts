// experiments/notify-webhook.yaml through the CLI: webhooks received by real local HTTP servers with
// the expected bodies (generic JSON and Slack-compatible), a verdict change against the previous
// journal, URLs kept out of every output, and a webhook that hangs bounded by its timeout.
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Journal } from '../src/engine/journal.js';
import { runCli } from './support/cli.js';

interface Received {
  path: string;
  body: Record<string, unknown>;
}

const servers: Server[] = [];
let dir = '';

async function listen(handler: (path: string, body: string, answer: (status: number) => void) => void): Promise<number> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => handler(req.url ?? '', body, (status) => res.writeHead(status).end()));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'faultline-notify-'));
});

afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  await rm(dir, { recursive: true, force: true });
});

describe('experiments/notify-webhook.yaml', () => {
  const received: Received[] = [];
  let jsonUrl = '';
  let slackUrl = '';
  const journalPath = () => join(dir, 'notify.json');
  const run = (vars: string[], env: Record<string, string>) =>
    runCli(['run', 'experiments/notify-webhook.yaml', '--journal', journalPath(), '--ledger-dir', join(dir, 'ledger'), ...vars.flatMap((v) => ['--var', v])], { env });

  beforeAll(async () => {
    const token = randomBytes(6).toString('hex');
    const port = await listen((path, body, answer) => {
      received.push({ path, body: JSON.parse(body) as Record<string, unknown> });
      answer(204);
    });
    jsonUrl = `http://127.0.0.1:${port}/hook/${token}`;
    slackUrl = `http://127.0.0.1:${port}/slack/${token}`;
  });

  it('sends start and end with the expected bodies, and keeps the URLs out of the output and the journal', async () => {
    const result = await run([], { FAULTLINE_WEBHOOK_URL: jsonUrl, FAULTLINE_SLACK_WEBHOOK_URL: slackUrl });
    expect(result.code).toBe(0);
    const journalText = await readFile(journalPath(), 'utf8');
    const journal = JSON.parse(journalText) as Journal;
    const json = received.filter((r) => r.path.startsWith('/hook/'));
    expect(json.map((r) => r.body.event)).toEqual(['start', 'end']);
    expect(json[0]!.body).toMatchObject({ event: 'start', runId: journal.runId, experiment: { title: journal.experiment.title } });
    expect(json[1]!.body).toMatchObject({ event: 'end', runId: journal.runId, status: 'passed', reason: 'the steady state held', verdicts: [] });
    const slack = received.filter((r) => r.path.startsWith('/slack/'));
    expect(slack).toHaveLength(1);
    expect(slack[0]!.body.text).toMatch(/^:white_check_mark: faultline passed: \*The team hears/);
    expect(journal.notifications?.map((n) => [n.event, n.target, n.ok, n.status])).toEqual(
      expect.arrayContaining([
        ['start', 'team webhook', true, 204],
        ['end', 'team webhook', true, 204],
        ['end', 'slack', true, 204],
      ]),
    );
    for (const text of [journalText, result.stdout, result.stderr]) {
      expect(text).not.toContain(jsonUrl.split('/').pop()!);
    }
  }, 60_000);

  it('tells both webhooks when the status changes from the previous journal', async () => {
    received.length = 0;
    const result = await run(['healthy=false'], { FAULTLINE_WEBHOOK_URL: jsonUrl, FAULTLINE_SLACK_WEBHOOK_URL: slackUrl });
    expect(result.code).toBe(1);
    const change = received.find((r) => r.path.startsWith('/hook/') && r.body.event === 'verdict-change');
    expect(change?.body).toMatchObject({ status: 'deviated', changes: [{ name: 'status', from: 'passed', to: 'deviated' }], previous: { status: 'passed' } });
    const slack = received.find((r) => r.path.startsWith('/slack/') && String(r.body.text).includes('verdicts changed'));
    expect(slack?.body.text).toContain('• status: passed → deviated');
  }, 60_000);

  it('records a webhook that hangs as timed out and finishes the run anyway', async () => {
    const hanging = await listen(() => undefined); // reads the request, never answers
    const result = await run([], { FAULTLINE_WEBHOOK_URL: jsonUrl, FAULTLINE_SLACK_WEBHOOK_URL: `http://127.0.0.1:${hanging}/never` });
    const journal = JSON.parse(await readFile(journalPath(), 'utf8')) as Journal;
    expect(result.code).toBe(0);
    const slack = journal.notifications?.find((n) => n.target === 'slack' && n.event === 'end');
    expect(slack).toMatchObject({ ok: false, error: 'no answer within 2000 ms' });
  }, 60_000);
});
