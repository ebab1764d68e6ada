// mediasoup reads MEDIASOUP_WORKER_BIN when it loads: resolve it before any test imports it.
import '../../src/media/use-worker-binary.js';
