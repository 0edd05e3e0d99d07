// Acceptance: the traefik cases of cases.ts (see suite.ts).
import { traefikCases } from './cases.js';
import { describeAcceptance } from './suite.js';

describeAcceptance('traefik', traefikCases);
