// `npm run testenv -- up|status|down`: the one command that brings the test servers up,
// reports on them and takes them down. The only file here that prints and exits.
import { down, selectedComponents, status, up, PINNED_VERSIONS, TestEnvError } from './index.js';
import { ensureNode24, NODE_24_VERSION } from './node24.js';

const USAGE = `usage: npm run testenv -- <up|status|down>

  up      start Toxiproxy, a Docker engine, a Kubernetes control plane on 127.0.0.1 and a
          real Kubernetes node beside its kwok ones (building what is missing), install
          Debian's chromium for the HTML report tests when it is missing, and write the
          settings to .testenv/env
  status  print each server's version and health; exit 1 if one is down
  down    stop what up started and remove faultline.test=true containers and networks
  node24  print the folder of Node ${NODE_24_VERSION}'s binary, installing it from the npm registry once

FAULTLINE_TESTENV=toxiproxy,docker (or none, all) chooses the parts up brings up.
Pinned: toxiproxy ${PINNED_VERSIONS.toxiproxy}, kubernetes ${PINNED_VERSIONS.kubernetes}, kwok ${PINNED_VERSIONS.kwok}, kube-router ${PINNED_VERSIONS['kube-router']}, caddy ${PINNED_VERSIONS.caddy}.`;

const EXIT = { ok: 0, unhealthy: 1, usage: 2, failed: 3 } as const;

function log(line: string): void {
  process.stderr.write(`testenv: ${line}\n`);
}

async function main(argv: string[]): Promise<number> {
  const command = argv[0];
  if (command === 'up') {
    const result = await up({ components: selectedComponents(process.env.FAULTLINE_TESTENV), log });
    for (const [key, value] of Object.entries(result.settings)) process.stdout.write(`${key}=${value}\n`);
    log(`up in ${result.seconds.toFixed(1)} s; load the settings with: set -a; . ${result.envFile}; set +a`);
    return EXIT.ok;
  }
  if (command === 'status') {
    const results = await status();
    const wanted: readonly string[] = selectedComponents(process.env.FAULTLINE_TESTENV); // caddy (a binary) is never wanted alone
    for (const result of results) {
      const mark = result.healthy ? 'up  ' : wanted.includes(result.component) ? 'DOWN' : 'off ';
      process.stdout.write(`${mark} ${result.component.padEnd(15)} ${(result.version ?? '-').padEnd(12)} ${result.detail}\n`);
    }
    return results.every((result) => result.healthy || !wanted.includes(result.component)) ? EXIT.ok : EXIT.unhealthy;
  }
  if (command === 'down') {
    const result = await down();
    log(`stopped: ${result.stopped.join(', ') || 'nothing'}`);
    log(`removed: ${result.removed.length ? result.removed.join(', ') : 'no faultline.test=true Docker objects'}`);
    return EXIT.ok;
  }
  if (command === 'node24') {
    process.stdout.write(`${await ensureNode24(log)}\n`);
    return EXIT.ok;
  }
  process.stderr.write(`${USAGE}\n`);
  return command === undefined || command === 'help' || command === '--help' ? EXIT.ok : EXIT.usage;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof TestEnvError) process.stderr.write(`testenv: ${error.message}\n`);
    else process.stderr.write(`testenv: internal error: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(EXIT.failed);
  },
);
