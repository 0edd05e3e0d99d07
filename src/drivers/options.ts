// The command-line options the built-in drivers declare, by driver name, in one list: `run` and `plan`
// offer them, and each value reaches only the driver that declared it. No driver is loaded for this.
import { kubernetesOptions } from './kubernetes/options.js';
import type { DriverOption } from './types.js';

export const builtinDriverOptions: ReadonlyMap<string, readonly DriverOption[]> = new Map([['kubernetes', kubernetesOptions]]);
