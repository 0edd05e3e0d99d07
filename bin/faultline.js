#!/usr/bin/env node
// The faultline command. `--version` is answered here, before the command line loads, so that asking
// for it costs what starting Node costs. Otherwise the signal handler comes first: loading the CLI
// takes a while, and a signal then must not find none. The CLI is one bundled file (scripts/bundle.mjs)
// whose compiled code V8 keeps in a cache between runs; each command, and each driver's client library,
// still loads only when it is used.
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) {
  const { FAULTLINE_VERSION } = await import('../dist/version.js');
  process.stdout.write(`${FAULTLINE_VERSION}\n`);
} else {
  const { installEarlyInterruptHandler } = await import('../dist/cli/signals.js');
  installEarlyInterruptHandler();
  const { main } = await loadCli();
  main(process.argv).then((code) => {
    process.exitCode = code;
  });
}

/** The bundled CLI through V8's code cache, or tsc's modules when there is no bundle (a build without it). */
async function loadCli() {
  const bundle = fileURLToPath(new URL('../dist/bundle/cli.cjs', import.meta.url));
  if (!existsSync(bundle)) return import('../dist/cli/main.js');
  // A dynamic import() inside a script compiled from the cache finds no loader on Node 20: the bundle
  // loads its external libraries through this one (scripts/bundle.mjs), which serves the libraries
  // bundled alone from dist/bundle/vendor through the same cache.
  const vendorMap = fileURLToPath(new URL('../dist/bundle/vendor.json', import.meta.url));
  globalThis[Symbol.for('faultline.import')] = (specifier) => {
    const vendored = existsSync(vendorMap) ? JSON.parse(readFileSync(vendorMap, 'utf8'))[specifier] : undefined;
    return vendored ? loadCommonJs(join(dirname(vendorMap), vendored)) : import(specifier);
  };
  return loadCommonJs(bundle);
}

/** Runs a CommonJS file compiled with V8's code cache (made at the first run, kept in the user's cache folder). */
function loadCommonJs(file) {
  const source = readFileSync(file, 'utf8');
  // The cache is Node's and this file's: another Node version or another build gets its own file.
  // V8 checks the source too and rejects a cache made from another (then it is written again). The
  // prefix names this file of this install, so a new build's cache replaces the old one's.
  const stat = statSync(file);
  const folder = cacheFolder();
  const prefix = `${basename(file)}-${hashOf(file)}-${process.version}-${process.arch}-`;
  const cacheFile = folder && join(folder, `${prefix}${stat.ino}-${stat.size}-${Math.trunc(stat.mtimeMs)}.bin`);
  let cachedData;
  try {
    if (cacheFile) cachedData = readFileSync(cacheFile);
  } catch {
    // no cache yet
  }
  const script = new vm.Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    cachedData,
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module, file, dirname(file));
  if (cacheFile && (cachedData === undefined || script.cachedDataRejected)) {
    // Written once the command is done, so the cache holds the code this command compiled; written to a
    // temporary name and renamed, so a concurrent run never reads half a file.
    process.once('beforeExit', () => {
      try {
        const partial = `${cacheFile}.${process.pid}`;
        writeFileSync(partial, script.createCachedData());
        renameSync(partial, cacheFile);
        for (const stale of readdirSync(dirname(cacheFile))) {
          if (stale.startsWith(prefix) && stale !== basename(cacheFile)) rmSync(join(dirname(cacheFile), stale), { force: true });
        }
      } catch {
        // a read-only or full temporary folder: the next start compiles again
      }
    });
  }
  return module.exports;
}

/**
 * The folder of the code cache: $FAULTLINE_COMPILE_CACHE, else faultline/compile-cache in the user's
 * cache folder ($XDG_CACHE_HOME or ~/.cache); none when FAULTLINE_COMPILE_CACHE=0. Compiled code run
 * from a file is code: the folder is used only when it is this user's own and nobody else can write
 * to it (made so here), never a folder another user could fill, such as a shared /tmp.
 */
function cacheFolder() {
  const chosen = process.env.FAULTLINE_COMPILE_CACHE;
  if (chosen === '0') return undefined;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  const folder = chosen || join(base, 'faultline', 'compile-cache');
  try {
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    const info = lstatSync(folder);
    const uid = process.getuid?.();
    if (!info.isDirectory() || (uid !== undefined && info.uid !== uid) || (info.mode & 0o022) !== 0) return undefined;
    return folder;
  } catch {
    return undefined;
  }
}

/** FNV-1a of a path, in hex: short, and no crypto module to load at every start. */
function hashOf(text) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(16).padStart(8, '0');
}
