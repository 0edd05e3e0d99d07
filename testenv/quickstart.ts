// `npm run quickstart`: the first command a new user runs. The quickstart starts its own
// toxiproxy-server, so this finds one (on PATH, or the one `npm run testenv -- up` built) or builds it
// with `go install` into the same per-user cache, then runs the quickstart with it, writing the HTML
// report beside the journal (the run prints both paths).
import { spawn } from 'node:child_process';
import { hasProgram } from './processes.js';
import { ensureToxiproxyBinary, TOXIPROXY_VERSION } from './toxiproxy.js';
import { TestEnvError } from './errors.js';

function log(line: string): void {
  process.stderr.write(`quickstart: ${line}\n`);
}

async function toxiproxyServer(): Promise<string | undefined> {
  if (process.env.FAULTLINE_TOXIPROXY_SERVER) return process.env.FAULTLINE_TOXIPROXY_SERVER;
  if (await hasProgram('toxiproxy-server')) return undefined; // the experiment's default finds it
  try {
    return await ensureToxiproxyBinary({ log, env: process.env, allowBuilds: true });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new TestEnvError(
      `the quickstart needs toxiproxy-server, which is not on PATH and could not be built (${reason}). ` +
        `Install it (README: "Installing toxiproxy-server"), e.g. \`go install github.com/Shopify/toxiproxy/v2/cmd/server@v${TOXIPROXY_VERSION}\` ` +
        'and put the binary on PATH as toxiproxy-server, or set FAULTLINE_TOXIPROXY_SERVER to its path.',
    );
  }
}

async function main(): Promise<number> {
  const server = await toxiproxyServer();
  const env = server ? { ...process.env, FAULTLINE_TOXIPROXY_SERVER: server } : process.env;
  const child = spawn(process.execPath, ['bin/faultline.js', 'run', 'experiments/quickstart.yaml', '--html', ...process.argv.slice(2)], { stdio: 'inherit', env });
  // Ctrl-C reaches the child through the terminal; faultline's own handler undoes the faults.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => undefined);
  return new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? 130 : 1))));
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`quickstart: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(4);
  },
);
