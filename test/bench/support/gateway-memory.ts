/**
 * Where a gateway process's memory is, for telling a leak from a heap or an allocator that
 * grew to its working size: its RSS split as the kernel counts it (anonymous memory vs
 * mapped files), the main thread's V8 heap and the memory outside it that JS objects hold
 * (Buffers, ArrayBuffers), each media thread's V8 heap (a worker thread has a heap of
 * its own, which the main thread's figures leave out), and the handles and resources
 * that keep the event loop busy (sockets, timers), by type. Read through the inspector
 * (the gateway runs with --inspect) and /proc.
 */
import { readFileSync } from 'node:fs';
import type { InspectorProfiler } from './inspector-profiler.js';

export interface GatewayMemory {
  /** MB, from /proc/<pid>/status. */
  readonly rss: number;
  readonly rssAnon: number;
  readonly rssFile: number;
  /** The main thread's V8 heap, used and reserved, MB. */
  readonly heapUsed: number;
  readonly heapTotal: number;
  /** Memory held by JS objects outside the V8 heap (of which ArrayBuffers and Buffers), MB. */
  readonly external: number;
  readonly arrayBuffers: number;
  /** Each media thread's V8 heap used and reserved, MB. */
  readonly threads: ReadonlyArray<{ readonly heapUsed: number; readonly heapTotal: number }>;
  /** The main thread's libuv handles by type (udp, tcp, timer...). */
  readonly handles: Readonly<Record<string, number>>;
  /** The main thread's active resources by type (each Timeout, each socket...). */
  readonly resources: Readonly<Record<string, number>>;
}

interface Probe {
  readonly memory: NodeJS.MemoryUsage;
  readonly threads: Array<{ heapUsed: number; heapTotal: number }>;
  readonly handles: Record<string, number>;
  readonly resources: Record<string, number>;
}

/** Runs in the gateway: a diagnostic report (for the worker threads' heaps and the handles) and the memory figures. */
const PROBE = `(() => {
  process.report.excludeNetwork = true;
  const report = process.report.getReport();
  const count = (types) => types.reduce((counts, type) => ((counts[type] = (counts[type] ?? 0) + 1), counts), {});
  return {
    memory: process.memoryUsage(),
    threads: report.workers.map((worker) => ({ heapUsed: worker.javascriptHeap.usedMemory, heapTotal: worker.javascriptHeap.totalMemory })),
    handles: count(report.libuv.map((handle) => handle.type)),
    resources: count(process.getActiveResourcesInfo()),
  };
})()`;

const MB = 2 ** 20;
const mb = (bytes: number) => Math.round((bytes / MB) * 10) / 10;

export async function gatewayMemory(inspector: InspectorProfiler, pid: number): Promise<GatewayMemory> {
  const probe = await inspector.evaluate<Probe>(PROBE);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kB = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return {
    rss: mb(kB('VmRSS') * 1024),
    rssAnon: mb(kB('RssAnon') * 1024),
    rssFile: mb(kB('RssFile') * 1024),
    heapUsed: mb(probe.memory.heapUsed),
    heapTotal: mb(probe.memory.heapTotal),
    external: mb(probe.memory.external),
    arrayBuffers: mb(probe.memory.arrayBuffers),
    threads: probe.threads.map((thread) => ({ heapUsed: mb(thread.heapUsed), heapTotal: mb(thread.heapTotal) })),
    handles: probe.handles,
    resources: probe.resources,
  };
}

/** Writes a heap snapshot of the gateway's main thread to `path` (in the gateway's process; it collects garbage first). */
export async function writeGatewayHeapSnapshot(inspector: InspectorProfiler, path: string): Promise<void> {
  await inspector.evaluate(`process.getBuiltinModule('node:v8').writeHeapSnapshot(${JSON.stringify(path)})`);
}
