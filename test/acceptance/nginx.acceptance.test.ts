// Acceptance: the nginx cases of cases.ts (see suite.ts).
import { nginxCases } from './cases.js';
import { describeAcceptance } from './suite.js';

describeAcceptance('nginx', nginxCases);
