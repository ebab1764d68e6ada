/** A media thread's entry point: its engine, talking to the main thread over the worker's port. */
import { parentPort } from 'node:worker_threads';
import { MediaEngine } from './media-engine.js';

if (!parentPort) throw new Error('media-thread-entry runs as a worker thread only');
new MediaEngine(parentPort);
