// The layers of src/, written down once: imports point one way, from src/cli down to src/core.
// `npm run lint:layers` (part of `npm test`) fails on a wrong-way import. Type-only imports are
// allowed where noted: they cost nothing at run time and do not load the module.
const notTests = '\\.test\\.ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'core-is-a-leaf',
      comment: 'src/core imports nothing of the project.',
      severity: 'error',
      from: { path: '^src/core/' },
      to: { path: '^src/', pathNot: '^src/core/' },
    },
    {
      name: 'only-cli-prints-and-exits',
      comment: 'Nothing below the CLI imports it.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'drivers-below-the-engine',
      comment: 'Drivers know the driver contract and the core, not the engine, the loader or the reports (tests may use engine helpers).',
      severity: 'error',
      from: { path: '^src/drivers/', pathNot: notTests },
      to: { path: '^src/(engine|experiment|safety|verdicts|report|workload)/' },
    },
    {
      name: 'reports-only-read-the-journal',
      comment: 'Reporters read the journal: at run time they load neither the engine, the drivers, the ledger nor the workload generator.',
      severity: 'error',
      from: { path: '^src/report/', pathNot: notTests },
      to: { path: '^src/(engine/(?!journal\\.ts)|drivers/|safety/|workload/(?!types\\.ts))', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'verdicts-judge-the-journal',
      comment: 'Verdicts are pure functions of the journal.',
      severity: 'error',
      from: { path: '^src/verdicts/', pathNot: notTests },
      to: { path: '^src/(engine|drivers|safety|experiment|report|workload)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'loader-below-the-engine',
      comment: 'The experiment loader does not run anything.',
      severity: 'error',
      from: { path: '^src/experiment/', pathNot: notTests },
      to: { path: '^src/(engine|safety|report)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
  },
};
