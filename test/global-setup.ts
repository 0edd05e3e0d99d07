// vitest global setup of the projects that need servers: brings the test environment up with the
// same code as `npm run testenv -- up`, limited to the parts FAULTLINE_TESTENV names (all by
// default; "none", or a list like "toxiproxy,docker"). What is missing is built or installed here,
// with progress, the first time (a cold machine takes about 35 minutes, mostly Kubernetes; warm,
// seconds), so `npm ci && npm test` on a fresh clone needs nothing else. Under CI=true a part that
// cannot come up fails the run; locally its tests skip, saying why. Servers stay up for the next
// run; `npm run testenv -- down` stops them.
import { loadTestEnv, selectedComponents, up } from '../testenv/index.js';

function log(line: string): void {
  process.stderr.write(`testenv: ${line}\n`);
}

/**
 * After the whole suite the test Toxiproxy must hold no toxic: every fault a test applied was undone.
 * Under CI this fails the run; locally other checkouts may share the server, so it only reports.
 */
async function checkNoToxicLeft(ci: boolean): Promise<void> {
  const url = loadTestEnv().TOXIPROXY_URL;
  if (!url) return;
  const proxies = (await fetch(`${url}/proxies`, { signal: AbortSignal.timeout(5_000) })
    .then((response) => response.json())
    .catch(() => ({}))) as Record<string, { toxics?: { name: string }[] }>;
  const left = Object.entries(proxies).flatMap(([proxy, { toxics = [] }]) => toxics.map((toxic) => `${toxic.name} on ${proxy}`));
  if (left.length === 0) return log('Toxiproxy holds no toxic after the suite');
  const message = `Toxiproxy still holds ${left.length} toxic(s) after the suite: ${left.join(', ')}`;
  if (ci) throw new Error(message);
  log(`${message} (another checkout sharing the server may have put them there)`);
}

export default async function setup(): Promise<() => Promise<void>> {
  const ci = process.env.CI === 'true' || process.env.CI === '1';
  const teardown = () => checkNoToxicLeft(ci);
  const components = selectedComponents(process.env.FAULTLINE_TESTENV);
  if (components.length === 0) {
    log('FAULTLINE_TESTENV=none: no test servers brought up; tests that need one skip');
    return teardown;
  }
  if (ci) {
    const result = await up({ components, log });
    log(`${components.join(', ')} up in ${result.seconds.toFixed(1)} s`);
    return teardown;
  }
  // One part at a time, so a part that cannot come up leaves the others usable.
  for (const component of components) {
    try {
      const result = await up({ components: [component], log });
      log(`${component} up in ${result.seconds.toFixed(1)} s`);
    } catch (error) {
      log(`${component} left out: ${error instanceof Error ? error.message : String(error)}`);
      log('tests that need it will skip; FAULTLINE_TESTENV=none skips this step');
    }
  }
  return teardown;
}
