// Acceptance: the caddy cases of cases.ts (see suite.ts).
import { caddyCases } from './cases.js';
import { describeAcceptance } from './suite.js';

describeAcceptance('caddy', caddyCases);
