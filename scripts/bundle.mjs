// Bundles the command line for a fast start (run by `npm run build`, after tsc). Loading the CLI from
// tsc's output means resolving, reading and compiling ~300 module files at every start; one file costs a
// fraction of that, and bin/faultline.js keeps V8's compiled code for it between runs (a code cache,
// which Node 20 offers for CommonJS scripts only: hence the CommonJS bundle).
//   dist/bundle/cli.cjs      the CLI (bin/faultline.js loads it; tsc's dist/ stays the library)
//   dist/bundle/guardian.js  the guardian process, started beside a run
//   dist/bundle/server.js    the fault proxy's server process
//   dist/bundle/worker.js    a workload worker process (`workload.replicas` > 1)
//   dist/bundle/vendor/*.cjs the largest client libraries, each bundled alone (vendor.json maps them):
//                            bin/faultline.js loads one through the same code cache when a driver
//                            imports it; @kubernetes/client-node's ~600 ES modules cost 0.7 s of CPU
//                            to load from node_modules, and 0.2 s from here
// The processes are found beside the module that starts them (`new URL('./guardian.js', import.meta.url)`),
// so they sit beside cli.cjs. Client libraries that are large, lazily loaded and used by one driver stay
// outside the bundle and load from node_modules when that driver runs.
import { build } from 'esbuild';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = `${root}dist/bundle`;
const external = ['@kubernetes/client-node', 'dockerode', 'playwright-core'];
/** Libraries bundled alone: the entry, and what stays outside (ssh2 has optional native parts). */
const vendored = {
  '@kubernetes/client-node': { file: 'kubernetes-client-node.cjs', entry: "export * from '@kubernetes/client-node';", external: [] },
  dockerode: { file: 'dockerode.cjs', entry: "import Docker from 'dockerode';\nexport default Docker;", external: ['ssh2'] },
};
// Whitespace only: function names stay, so an internal error's stack trace still says where.
const common = { bundle: true, platform: 'node', target: 'node20', external, logLevel: 'warning', legalComments: 'none', minifyWhitespace: true, absWorkingDir: root };

rmSync(outdir, { recursive: true, force: true });
await Promise.all([
  build({
    ...common,
    entryPoints: ['src/cli/main.ts'],
    outfile: `${outdir}/cli.cjs`,
    format: 'cjs',
    // CommonJS has no import.meta: the bundle's own URL stands in, so paths beside it resolve.
    define: { 'import.meta.url': '__faultlineBundleUrl' },
    banner: {
      js: [
        "const __faultlineBundleUrl = require('node:url').pathToFileURL(__filename).href;",
        // bin/faultline.js hands in its import(): one inside a script compiled from V8's code cache finds
        // no loader on Node 20 ("A dynamic import callback was not specified").
        "const __faultlineImport = globalThis[Symbol.for('faultline.import')] ?? ((specifier) => import(specifier));",
      ].join('\n'),
    },
  }).then(() => routeDynamicImports(`${outdir}/cli.cjs`)),
  ...Object.values(vendored).map(({ file, entry, external: outside }) =>
    build({
      ...common,
      external: outside,
      stdin: { contents: entry, resolveDir: root, sourcefile: file.replace(/\.cjs$/, '.mjs') },
      outfile: `${outdir}/vendor/${file}`,
      format: 'cjs',
    }),
  ),
  ...['src/safety/guardian.ts', 'src/drivers/faultproxy/server.ts', 'src/workload/worker.ts'].map((entry) =>
    build({
      ...common,
      entryPoints: [entry],
      outdir,
      format: 'esm',
      // Bundled CommonJS dependencies call require(); an ES module has none of its own.
      banner: { js: "import { createRequire as __faultlineCreateRequire } from 'node:module'; const require = __faultlineCreateRequire(import.meta.url);" },
    }),
  ),
]);

writeFileSync(`${outdir}/vendor.json`, `${JSON.stringify(Object.fromEntries(Object.entries(vendored).map(([name, { file }]) => [name, `vendor/${file}`])), null, 2)}\n`);

/** The external libraries' `import("…")` in the CommonJS bundle go through __faultlineImport (see the banner). */
function routeDynamicImports(file) {
  let code = readFileSync(file, 'utf8');
  for (const name of external) code = code.replaceAll(`import(${JSON.stringify(name)})`, `__faultlineImport(${JSON.stringify(name)})`);
  const left = code.match(/[^\w.]import\(/g);
  // The banner's own fallback is the one import() allowed to stay.
  if (left && left.length > 1) throw new Error(`${file}: ${left.length - 1} dynamic import() left that bin/faultline.js cannot serve; add the module to the list`);
  writeFileSync(file, code);
}
