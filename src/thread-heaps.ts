/**
 * `npm start` runs node with --max-semi-space-size=4: a small young generation for the main
 * thread, whose scavenges pause every call set-up in flight, keeps each one short. V8 flags
 * are process-wide, though, and the flag would also override every worker thread's own
 * `resourceLimits`: the media threads need their default young generation (in a small one
 * the packets waiting in jitter buffers survive scavenges and are promoted, which cost them
 * 15 % more CPU per leg in bench:legs). The main isolate has read the flag by the time this
 * module runs; clearing it lets each worker thread's own limits apply.
 */
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--max-semi-space-size=0');
