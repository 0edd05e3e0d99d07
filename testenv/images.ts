// Test images built locally, since no container registry can be reached: a busybox-static
// rootfs from Debian's package, and a Node image holding this machine's node binary and the
// libraries it links, each loaded with `docker import` under a tag that names its version.
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cacheDir, logPath, TEST_LABEL_KEY, TEST_LABEL_VALUE } from './layout.js';
import { runCommand, runLoggedStep } from './processes.js';
import { NotBuiltError, TestEnvError } from './errors.js';
import type { UpContext } from './index.js';

export interface TestImages {
  busybox: string;
  node: string;
}

function dockerEnv(dockerHost: string, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return { ...env, DOCKER_HOST: dockerHost };
}

async function imageExists(tag: string, dockerHost: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  return (await runCommand('docker', ['image', 'inspect', tag], { env: dockerEnv(dockerHost, env) })).code === 0;
}

/** Docker tags allow [A-Za-z0-9_.-]; Debian versions carry ':' and '+'. */
export function asTag(version: string): string {
  return version.replace(/^\d+:/, '').replace(/[^A-Za-z0-9_.-]/g, '-');
}

export async function busyboxPackageVersion({ log, env, allowBuilds }: UpContext): Promise<string> {
  const candidate = async () => {
    const result = await runCommand('apt-cache', ['policy', 'busybox-static'], { env });
    const version = /Candidate:\s*(\S+)/.exec(result.stdout)?.[1];
    return version && version !== '(none)' ? version : undefined;
  };
  const known = await candidate();
  if (known) return known;
  // A new machine's apt has no package lists until the first update.
  if (!allowBuilds) throw new NotBuiltError("the busybox image (apt has no package lists; apt-get update)");
  const logFile = logPath('images', env);
  log(`apt-get update, so apt knows busybox-static (log: ${logFile})`);
  await runLoggedStep('apt-get update', 'apt-get', ['update'], { logFile, env, timeoutMs: 5 * 60_000 });
  const updated = await candidate();
  if (!updated) throw new TestEnvError("Debian's busybox-static package is not known to apt even after apt-get update", logFile);
  return updated;
}

/** Extracts busybox-static's binary into `bin/` of the cache, once per package version. */
export async function ensureBusyboxBinary(version: string, log: (line: string) => void, env: NodeJS.ProcessEnv): Promise<string> {
  const folder = join(cacheDir(env), `busybox-static-${asTag(version)}`);
  const binary = join(folder, 'bin', 'busybox');
  if (existsSync(binary)) return binary;
  const logFile = logPath('images', env);
  log(`fetching Debian's busybox-static ${version} with apt-get download (log: ${logFile})`);
  mkdirSync(cacheDir(env), { recursive: true });
  const work = mkdtempSync(join(cacheDir(env), 'busybox-download-'));
  try {
    await runLoggedStep('apt-get download busybox-static', 'apt-get', ['download', `busybox-static=${version}`], {
      logFile,
      env,
      cwd: work,
      timeoutMs: 5 * 60_000,
    });
    const deb = readdirSync(work).find((name) => name.endsWith('.deb'));
    if (!deb) throw new TestEnvError('apt-get download left no .deb file', logFile);
    await runLoggedStep('dpkg -x busybox-static', 'dpkg', ['-x', join(work, deb), join(work, 'root')], { logFile, env, timeoutMs: 60_000 });
    mkdirSync(dirname(binary), { recursive: true });
    copyFileSync(join(work, 'root', 'bin', 'busybox'), `${binary}.tmp`);
    await runCommand('chmod', ['0755', `${binary}.tmp`]);
    await runCommand('mv', [`${binary}.tmp`, binary]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return binary;
}

/** A minimal root filesystem: busybox with a link per applet, /etc/passwd, /tmp. */
export async function writeBusyboxRootfs(rootfs: string, busybox: string): Promise<void> {
  for (const dir of ['bin', 'etc', 'tmp', 'root', 'proc', 'sys', 'dev']) mkdirSync(join(rootfs, dir), { recursive: true });
  copyFileSync(busybox, join(rootfs, 'bin', 'busybox'));
  const applets = (await runCommand(busybox, ['--list'])).stdout.split('\n').filter((name) => /^[\w.[-]+$/.test(name));
  for (const applet of applets) {
    if (applet !== 'busybox' && !existsSync(join(rootfs, 'bin', applet))) symlinkSync('busybox', join(rootfs, 'bin', applet));
  }
  writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n');
  writeFileSync(join(rootfs, 'etc', 'group'), 'root:x:0:\nnogroup:x:65534:\n');
}

/** Copies the node binary and every library `ldd` lists for it, at the same paths. */
export async function addNodeToRootfs(rootfs: string, env: NodeJS.ProcessEnv): Promise<void> {
  const node = process.execPath;
  const ldd = await runCommand('ldd', [node], { env });
  if (ldd.code !== 0) throw new TestEnvError(`ldd ${node} failed: ${ldd.stderr.trim()}`);
  const libraries = [...ldd.stdout.matchAll(/(\/\S+)\s+\(0x/g)].map((match) => match[1]!);
  for (const file of [node, ...libraries]) {
    const target = join(rootfs, file);
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(file, target); // copyFileSync follows symlinks: the real library lands under the linked name.
  }
  mkdirSync(join(rootfs, 'app'), { recursive: true });
  const nodeInRootfs = join(rootfs, 'usr', 'local', 'bin', 'node');
  if (!existsSync(nodeInRootfs) || lstatSync(nodeInRootfs).isSymbolicLink()) {
    mkdirSync(dirname(nodeInRootfs), { recursive: true });
    copyFileSync(node, nodeInRootfs);
  }
}

async function importRootfs(
  rootfs: string,
  tag: string,
  changes: string[],
  dockerHost: string,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const logFile = logPath('images', env);
  const args = ['import', ...changes.flatMap((change) => ['--change', change]), '-', tag];
  // tar's stream feeds `docker import` through a shell pipe, so a large rootfs never sits in memory.
  const command = `tar --numeric-owner --owner=0 --group=0 -C '${rootfs}' -c . | docker ${args.map((arg) => `'${arg}'`).join(' ')}`;
  await runLoggedStep(`docker import ${tag}`, 'sh', ['-c', command], { logFile, env: dockerEnv(dockerHost, env), timeoutMs: 5 * 60_000 });
}

const IMAGE_LABEL = `LABEL ${TEST_LABEL_KEY}.image=${TEST_LABEL_VALUE}`;

export async function upImages(dockerHost: string, context: UpContext): Promise<TestImages> {
  const { log, env } = context;
  const busyboxVersion = await busyboxPackageVersion(context);
  const busyboxTag = `faultline-test/busybox:${asTag(busyboxVersion)}`;
  const nodeTag = `faultline-test/node:${process.versions.node}-busybox-${asTag(busyboxVersion)}`;
  const needBusybox = !(await imageExists(busyboxTag, dockerHost, env));
  const needNode = !(await imageExists(nodeTag, dockerHost, env));
  if (!needBusybox && !needNode) return { busybox: busyboxTag, node: nodeTag };

  mkdirSync(cacheDir(env), { recursive: true });
  const busybox = await ensureBusyboxBinary(busyboxVersion, log, env);
  const work = mkdtempSync(join(cacheDir(env), 'rootfs-'));
  try {
    if (needBusybox) {
      const rootfs = join(work, 'busybox');
      await writeBusyboxRootfs(rootfs, busybox);
      await importRootfs(rootfs, busyboxTag, ['ENV PATH=/bin', 'CMD ["/bin/sh"]', IMAGE_LABEL], dockerHost, env);
      log(`imported ${busyboxTag}`);
    }
    if (needNode) {
      const rootfs = join(work, 'node');
      await writeBusyboxRootfs(rootfs, busybox);
      await addNodeToRootfs(rootfs, env);
      await importRootfs(
        rootfs,
        nodeTag,
        ['ENV PATH=/usr/local/bin:/bin', 'WORKDIR /app', 'CMD ["node"]', IMAGE_LABEL],
        dockerHost,
        env,
      );
      log(`imported ${nodeTag}`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return { busybox: busyboxTag, node: nodeTag };
}
