/** Imported first by every entry point, before mediasoup loads. */
import { resolveWorkerBinary } from './worker-binary.js';

const binary = resolveWorkerBinary();
if (binary) process.env.MEDIASOUP_WORKER_BIN = binary;
