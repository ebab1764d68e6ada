/**
 * Loaded into a benchmarked gateway's process (startGatewayProcess's `imports`) in a
 * diagnostic run: every garbage collection as one JSON line `{"benchGc": GcPause}` on
 * stdout, timed on the wall clock (see gc-timeline.ts).
 */
import { observeGc } from './gc-timeline.js';

observeGc((pause) => process.stdout.write(`${JSON.stringify({ benchGc: pause })}\n`));
