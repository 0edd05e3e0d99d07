// The faultline image the in-cluster tests run, built locally like the other test images since no
// registry can be reached: busybox (for the Job's `sh -c`), this machine's node binary and the
// libraries it links, the built project (dist, bin, schema, package.json) and its production
// dependencies, in a rootfs tarball cached under a hash of all of those. The layout is the
// Dockerfile's (FAULTLINE_IMAGE_LAYOUT; test/faultline-image.e2e.test.ts holds the two together),
// so what the tests prove of this image holds for the one users build.
import { createHash, type Hash } from 'node:crypto';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { addNodeToRootfs, asTag, busyboxPackageVersion, ensureBusyboxBinary, writeBusyboxRootfs } from './images.js';
import { cacheDir, logPath, REPO_ROOT, TEST_LABEL_KEY, TEST_LABEL_VALUE } from './layout.js';
import { runCommand, runLoggedStep } from './processes.js';
import { TestEnvError } from './errors.js';
import type { UpContext } from './index.js';

const IMAGE_REPOSITORY = 'faultline-test/faultline';

/** Where things are in the image; the Dockerfile puts them in the same places. */
export const FAULTLINE_IMAGE_LAYOUT = {
  app: '/opt/faultline',
  /** What the project contributes, copied into `app`. */
  appEntries: ['package.json', 'node_modules', 'dist', 'bin', 'schema'],
  /** On PATH, so the generated Job's `sh -c 'faultline "$@"'` finds it. */
  command: '/usr/local/bin/faultline',
  node: '/usr/local/bin/node',
  /** The unprivileged user the generated Job runs as (runAsUser), named as in the node images. */
  user: { name: 'node', uid: 1000, gid: 1000, home: '/home/node' },
  path: '/usr/local/bin:/usr/bin:/bin',
  entrypoint: ['faultline'],
  cmd: ['--help'],
} as const;

export interface FaultlineImage {
  /** The rootfs tarball: what `docker import` and a node's image import read. */
  tarball: string;
  /** A hash of every input; the tarball's name and the tag carry its first 16 characters. */
  hash: string;
  /** The tag to import it under: faultline-test/faultline:<version>-<hash>. */
  tag: string;
  /** The `docker import --change` lines that give the rootfs its entrypoint, user and environment. */
  changes: string[];
}

const PROJECT_FILES = ['dist', 'bin', 'schema', 'package.json', 'package-lock.json'] as const;

function hashTree(hash: Hash, root: string, path: string): void {
  const stats = statSync(path);
  if (stats.isDirectory()) {
    for (const name of readdirSync(path).sort()) hashTree(hash, root, join(path, name));
    return;
  }
  hash.update(`${relative(root, path)}\u0000${stats.mode & 0o111 ? 'x' : '-'}\u0000`);
  hash.update(readFileSync(path));
  hash.update('\u0000');
}

/** The production dependencies, installed once per lockfile with `npm ci --omit=dev` into a staging folder of the cache. */
async function ensureProductionDependencies(repoRoot: string, { log, env }: UpContext): Promise<string> {
  const lock = readFileSync(join(repoRoot, 'package-lock.json'));
  const pkg = readFileSync(join(repoRoot, 'package.json'));
  const key = createHash('sha256').update(lock).update(pkg).update(process.versions.node).digest('hex').slice(0, 16);
  const folder = join(cacheDir(env), `faultline-production-dependencies-${key}`);
  if (existsSync(join(folder, 'node_modules'))) return join(folder, 'node_modules');
  const logFile = logPath('faultline-image', env);
  log(`installing faultline's production dependencies with npm ci --omit=dev (log: ${logFile})`);
  mkdirSync(cacheDir(env), { recursive: true });
  const staging = mkdtempSync(join(cacheDir(env), 'faultline-production-dependencies-staging-'));
  try {
    copyFileSync(join(repoRoot, 'package.json'), join(staging, 'package.json'));
    copyFileSync(join(repoRoot, 'package-lock.json'), join(staging, 'package-lock.json'));
    // No install scripts: none of the dependencies needs one (ssh2's optional native crypto falls
    // back to JavaScript), and the Dockerfile's slim build stage has no compiler for one either.
    await runLoggedStep('npm ci --omit=dev', 'npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], {
      logFile,
      env,
      cwd: staging,
      timeoutMs: 10 * 60_000,
    });
    // A rename, so a folder that exists under the final name is always complete.
    renameSync(staging, folder);
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    if (existsSync(join(folder, 'node_modules'))) return join(folder, 'node_modules'); // another process won the race
    throw error;
  }
  return join(folder, 'node_modules');
}

/** A tarball of one image per hash; older ones beyond the last few are deleted, so the cache does not grow with every build. */
function pruneOldTarballs(folder: string, keep: number): void {
  const tarballs = readdirSync(folder)
    .filter((name) => /^faultline-[0-9a-f]+\.tar$/.test(name))
    .map((name) => ({ path: join(folder, name), mtime: statSync(join(folder, name)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const old of tarballs.slice(keep)) rmSync(old.path, { force: true });
}

function writeAccounts(rootfs: string): void {
  const { name, uid, gid, home } = FAULTLINE_IMAGE_LAYOUT.user;
  writeFileSync(join(rootfs, 'etc', 'passwd'), `root:x:0:0:root:/root:/bin/sh\n${name}:x:${uid}:${gid}:${name}:${home}:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n`);
  writeFileSync(join(rootfs, 'etc', 'group'), `root:x:0:\n${name}:x:${gid}:\nnogroup:x:65534:\n`);
  // Writable by the image's user whoever owns it: the tarball's files all belong to root.
  mkdirSync(join(rootfs, home.slice(1)), { recursive: true });
  chmodSync(join(rootfs, home.slice(1)), 0o1777);
  chmodSync(join(rootfs, 'tmp'), 0o1777);
}

/**
 * Builds the image's rootfs tarball from the built project (run `npm run build` first), or finds it
 * in the cache. Importing it is the caller's: importFaultlineImageToDocker, or a node's containerd.
 */
export async function buildFaultlineImage(context: UpContext, repoRoot: string = REPO_ROOT): Promise<FaultlineImage> {
  const { log, env } = context;
  for (const entry of PROJECT_FILES) {
    if (!existsSync(join(repoRoot, entry))) throw new TestEnvError(`the faultline image needs ${join(repoRoot, entry)}; run \`npm run build\` first`);
  }
  const busyboxVersion = await busyboxPackageVersion(context);
  const ldd = await runCommand('ldd', [process.execPath], { env });
  if (ldd.code !== 0) throw new TestEnvError(`ldd ${process.execPath} failed: ${ldd.stderr.trim()}`);

  const hash = createHash('sha256');
  // This file too: a change to how the image is laid out is a new image.
  hash.update(readFileSync(fileURLToPath(import.meta.url)));
  hash.update(`${process.versions.node}\u0000${busyboxVersion}\u0000${ldd.stdout.replace(/\(0x[0-9a-f]+\)/g, '')}\u0000`);
  for (const entry of PROJECT_FILES) hashTree(hash, repoRoot, join(repoRoot, entry));
  const digest = hash.digest('hex');
  const short = digest.slice(0, 16);
  const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
  const { app, command, user, path, entrypoint, cmd } = FAULTLINE_IMAGE_LAYOUT;
  const image: FaultlineImage = {
    tarball: join(cacheDir(env), 'faultline-image', `faultline-${short}.tar`),
    hash: digest,
    tag: `${IMAGE_REPOSITORY}:${asTag(version)}-${short}`,
    changes: [
      `ENV PATH=${path}`,
      'ENV NODE_ENV=production',
      `USER ${user.uid}:${user.gid}`,
      `WORKDIR ${user.home}`,
      `ENTRYPOINT ${JSON.stringify(entrypoint)}`,
      `CMD ${JSON.stringify(cmd)}`,
      `LABEL ${TEST_LABEL_KEY}.image=${TEST_LABEL_VALUE}`,
    ],
  };
  if (existsSync(image.tarball)) return image;

  const nodeModules = await ensureProductionDependencies(repoRoot, context);
  const busybox = await ensureBusyboxBinary(busyboxVersion, log, env);
  mkdirSync(join(cacheDir(env), 'faultline-image'), { recursive: true });
  const work = mkdtempSync(join(cacheDir(env), 'faultline-rootfs-'));
  try {
    const rootfs = join(work, 'rootfs');
    await writeBusyboxRootfs(rootfs, busybox);
    await addNodeToRootfs(rootfs, env);
    // addNodeToRootfs copies node both where this machine has it and to /usr/local/bin: one copy of
    // 99 MB is enough, at the Dockerfile's path, the other a link to it.
    const node = join(rootfs, FAULTLINE_IMAGE_LAYOUT.node.slice(1));
    if (process.execPath !== FAULTLINE_IMAGE_LAYOUT.node) {
      rmSync(join(rootfs, process.execPath.slice(1)));
      symlinkSync(FAULTLINE_IMAGE_LAYOUT.node, join(rootfs, process.execPath.slice(1)));
    }
    chmodSync(node, 0o755);
    writeAccounts(rootfs);
    // bin/faultline.js starts with `#!/usr/bin/env node`; busybox's env applet serves it.
    mkdirSync(join(rootfs, 'usr', 'bin'), { recursive: true });
    symlinkSync('../../bin/busybox', join(rootfs, 'usr', 'bin', 'env'));
    const appDir = join(rootfs, app.slice(1));
    mkdirSync(appDir, { recursive: true });
    for (const entry of FAULTLINE_IMAGE_LAYOUT.appEntries) {
      const source = entry === 'node_modules' ? nodeModules : join(repoRoot, entry);
      cpSync(source, join(appDir, entry), { recursive: true, verbatimSymlinks: true });
    }
    symlinkSync(`${app}/bin/faultline.js`, join(rootfs, command.slice(1)));
    const partial = `${image.tarball}.${process.pid}.partial`;
    const logFile = logPath('faultline-image', env);
    await runLoggedStep('tar the faultline rootfs', 'tar', ['--numeric-owner', '--owner=0', '--group=0', '--sort=name', '-C', rootfs, '-cf', partial, '.'], {
      logFile,
      env,
      timeoutMs: 5 * 60_000,
    });
    renameSync(partial, image.tarball);
    log(`built the faultline image's rootfs ${image.tarball}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  pruneOldTarballs(join(cacheDir(env), 'faultline-image'), 2);
  return image;
}

/**
 * The tags of faultline images whose tarball the cache no longer holds (pruneOldTarballs removed
 * it): a store that holds images should drop those too, or every build of dist adds 200 MB to it.
 */
export function staleFaultlineTags(tags: string[], env: NodeJS.ProcessEnv): string[] {
  const folder = join(cacheDir(env), 'faultline-image');
  return tags.filter((tag) => {
    const hash = new RegExp(`^(?:docker\\.io/)?${IMAGE_REPOSITORY}:.*-([0-9a-f]{16})$`).exec(tag)?.[1];
    return hash !== undefined && !existsSync(join(folder, `faultline-${hash}.tar`));
  });
}

/** Imports the image into a Docker engine under its tag, unless it is there already, and removes the stale ones. */
export async function importFaultlineImageToDocker(image: FaultlineImage, dockerHost: string, context: UpContext): Promise<void> {
  const env = { ...context.env, DOCKER_HOST: dockerHost };
  if ((await runCommand('docker', ['image', 'inspect', image.tag], { env })).code !== 0) {
    const args = ['import', ...image.changes.flatMap((change) => ['--change', change]), image.tarball, image.tag];
    await runLoggedStep(`docker import ${image.tag}`, 'docker', args, { logFile: logPath('faultline-image', context.env), env, timeoutMs: 5 * 60_000 });
  }
  const listed = await runCommand('docker', ['image', 'ls', IMAGE_REPOSITORY, '--format', '{{.Repository}}:{{.Tag}}'], { env });
  const stale = staleFaultlineTags(listed.stdout.split('\n').filter(Boolean), context.env);
  // An image a container still uses stays (rmi without --force refuses it); the next prune gets it.
  if (stale.length > 0) await runCommand('docker', ['rmi', ...stale], { env });
}
