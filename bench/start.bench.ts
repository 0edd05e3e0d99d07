// Start-up cost of faultline's commands, side by side with a bare Node and with Chaos Toolkit's
// `chaos validate` on the same experiment (bench/fixtures/process-http.*), in one run: CPU seconds
// (user + sys of the child, from bash's `time`), medians of N runs taken in turns so that a load
// spike hits every command alike.
//
//   npm run build && npm run bench:start [-- N]        # N runs of each (default 7)
//
// Chaos Toolkit is installed from PyPI into a throwaway virtualenv in the test environment's cache
// (~/.cache/faultline-testenv/chaostoolkit-<version>) when python3 is there; the bench says so when not.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { REPO_ROOT, componentCacheDir, envFilePath } from '../testenv/layout.js';

const CHAOSTOOLKIT_VERSION = '1.19.0';
const runs = Math.max(1, Number(process.argv[2] ?? process.env.BENCH_RUNS ?? 7));
const faultline = join(REPO_ROOT, 'bin', 'faultline.js');
const fixtures = join(REPO_ROOT, 'bench', 'fixtures');

interface Subject {
  name: string;
  command: string[];
  env?: Record<string, string>;
  /** The exit code of the first run, to tell a measurement of an error apart. */
  exitCode?: number | null;
  samples: number[];
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/** CPU seconds (user + sys) of one run of the command, as bash's `time` reads them from the child's rusage. */
function cpuSeconds(subject: Subject): { seconds: number; exitCode: number | null } {
  const script = `TIMEFORMAT='%3U %3S'; time { ${subject.command.map(quote).join(' ')} >/dev/null 2>/tmp/faultline-bench-start.err; echo "exit=$?" >&2; }`;
  const result = spawnSync('bash', ['-c', script], { encoding: 'utf8', cwd: REPO_ROOT, env: { ...process.env, ...subject.env } });
  const lines = result.stderr.trim().split('\n');
  const exit = /exit=(\d+)/.exec(result.stderr)?.[1];
  const [user, sys] = lines.at(-1)!.split(' ').map(Number);
  if (!Number.isFinite(user) || !Number.isFinite(sys)) throw new Error(`cannot read the time of ${subject.name}: ${result.stderr}`);
  return { seconds: user! + sys!, exitCode: exit === undefined ? null : Number(exit) };
}

/** The `chaos` command from a virtualenv in the cache, installed on first use; undefined (with the reason) without python3. */
function chaosToolkit(): { chaos?: string; reason?: string } {
  const venv = componentCacheDir('chaostoolkit', CHAOSTOOLKIT_VERSION);
  const chaos = join(venv, 'bin', 'chaos');
  if (existsSync(chaos)) return { chaos };
  const python = spawnSync('python3', ['-m', 'venv', '--help'], { encoding: 'utf8' });
  if (python.status !== 0) return { reason: 'python3 with the venv module is not installed' };
  console.log(`installing chaostoolkit==${CHAOSTOOLKIT_VERSION} into ${venv} (about a minute, once)…`);
  const made = spawnSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
  if (made.status !== 0) return { reason: `python3 -m venv ${venv} failed` };
  const pip = spawnSync(join(venv, 'bin', 'pip'), ['install', '--quiet', `chaostoolkit==${CHAOSTOOLKIT_VERSION}`], { stdio: 'inherit', timeout: 600_000 });
  if (pip.status !== 0 || !existsSync(chaos)) return { reason: `pip install chaostoolkit==${CHAOSTOOLKIT_VERSION} failed (no access to PyPI?)` };
  return { chaos };
}

/** KUBECONFIG from the test environment, when it has a cluster: plan of a Kubernetes experiment lists its pods. */
function testenvKubeconfig(): string | undefined {
  const file = envFilePath();
  if (!existsSync(file)) return undefined;
  const line = readFileSync(file, 'utf8').split('\n').find((l) => l.startsWith('KUBECONFIG='));
  return line?.slice('KUBECONFIG='.length).replace(/^['"]|['"]$/g, '') || undefined;
}

if (!existsSync(join(REPO_ROOT, 'dist', 'cli', 'main.js'))) {
  console.error('dist/ is missing: run `npm run build` first (the bench measures the built CLI, as users run it)');
  process.exit(2);
}

// A process for `plan` to resolve: process.stop names it by pid.
const target: ChildProcess = spawn('sleep', ['600'], { stdio: 'ignore' });
try {
  const pid = String(target.pid);
  const processExperiment = join(fixtures, 'process-http.yaml');
  const k8sExperiment = resolve(REPO_ROOT, 'experiments', 'k8s-pod-kill.yaml');
  const kubeconfig = testenvKubeconfig();
  const subjects: Subject[] = [
    { name: 'node -e 0', command: [process.execPath, '-e', '0'], samples: [] },
    { name: 'faultline --version', command: [process.execPath, faultline, '--version'], samples: [] },
    { name: 'faultline --help', command: [process.execPath, faultline, '--help'], samples: [] },
    { name: 'faultline validate (process+http)', command: [process.execPath, faultline, 'validate', processExperiment], samples: [] },
    { name: 'faultline plan (process+http)', command: [process.execPath, faultline, 'plan', processExperiment, '--var', `target.pid=${pid}`], samples: [] },
    { name: 'faultline validate (kubernetes)', command: [process.execPath, faultline, 'validate', k8sExperiment], samples: [] },
    {
      name: 'faultline plan (kubernetes)',
      command: [process.execPath, faultline, 'plan', k8sExperiment],
      ...(kubeconfig ? { env: { KUBECONFIG: kubeconfig } } : {}),
      samples: [],
    },
  ];
  const ctk = chaosToolkit();
  if (ctk.chaos) {
    subjects.push({ name: 'chaos validate (process+http)', command: [ctk.chaos, '--no-log-file', 'validate', join(fixtures, 'process-http.chaostoolkit.json')], samples: [] });
  } else {
    console.log(`Chaos Toolkit is not measured: ${ctk.reason}`);
  }

  for (let round = 0; round < runs; round++) {
    for (const subject of subjects) {
      const { seconds, exitCode } = cpuSeconds(subject);
      subject.samples.push(seconds);
      if (round === 0) subject.exitCode = exitCode;
    }
  }

  const cpu = (name: string) => {
    const subject = subjects.find((s) => s.name === name);
    return subject ? median(subject.samples) : undefined;
  };
  const node = cpu('node -e 0')!;
  const chaos = cpu('chaos validate (process+http)');
  const goals: Record<string, { base: 'node' | 'chaos'; bound: number }> = {
    'faultline --version': { base: 'node', bound: 1.5 },
    'faultline --help': { base: 'node', bound: 1.5 },
    'faultline validate (process+http)': { base: 'chaos', bound: 0.2 },
    'faultline plan (process+http)': { base: 'chaos', bound: 0.2 },
    'faultline validate (kubernetes)': { base: 'chaos', bound: 0.5 },
    'faultline plan (kubernetes)': { base: 'chaos', bound: 0.5 },
  };
  console.log(`\nCPU seconds (user+sys), median of ${runs}, ${new Date().toISOString()}, Node ${process.version}, load ${loadavg()[0]!.toFixed(1)}`);
  console.log(`${'command'.padEnd(36)} ${'cpu s'.padStart(7)} ${'× node'.padStart(7)} ${'× chaos'.padStart(8)}  goal`);
  for (const subject of subjects) {
    const value = median(subject.samples);
    const goal = goals[subject.name];
    let verdict = '';
    if (goal) {
      const base = goal.base === 'node' ? node : chaos;
      verdict = base === undefined ? `≤ ${goal.bound}× ${goal.base} (no baseline)` : `≤ ${goal.bound}× ${goal.base}: ${value <= goal.bound * base ? 'met' : 'MISSED'}`;
    }
    const failed = subject.exitCode !== 0 ? ` (exit ${subject.exitCode}: ${subject.name.includes('kubernetes') && subject.name.includes('plan') ? 'no cluster reachable' : 'see /tmp/faultline-bench-start.err'})` : '';
    console.log(
      `${subject.name.padEnd(36)} ${value.toFixed(3).padStart(7)} ${(value / node).toFixed(2).padStart(7)} ${chaos === undefined ? '-'.padStart(8) : (value / chaos).toFixed(2).padStart(8)}  ${verdict}${failed}`,
    );
  }
} finally {
  target.kill('SIGKILL');
}
