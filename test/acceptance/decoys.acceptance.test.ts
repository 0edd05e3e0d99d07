// Acceptance: the decoys cases of cases.ts (see suite.ts).
import { decoyCases } from './cases.js';
import { describeAcceptance } from './suite.js';

describeAcceptance('decoys', decoyCases);
