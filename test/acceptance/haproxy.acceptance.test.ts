// Acceptance: the haproxy cases of cases.ts (see suite.ts).
import { haproxyCases } from './cases.js';
import { describeAcceptance } from './suite.js';

describeAcceptance('haproxy', haproxyCases);
