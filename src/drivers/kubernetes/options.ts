// The kubernetes driver's command-line options, apart from the driver so `faultline --help` lists them
// without loading it. Only this driver's context carries their values (DriverContext.options).
import type { DriverOption } from '../types.js';

export const kubernetesOptions: readonly DriverOption[] = [
  { flags: '--context <name>', key: 'context', description: 'kubeconfig context for the kubernetes driver (must be in targets.kubernetes.contexts)' },
  { flags: '--allow-production', key: 'allowProduction', description: 'confirm a run against a kubeconfig context whose name looks like production' },
];
