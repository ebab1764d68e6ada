/**
 * The top self-time functions of a V8 CPU profile (the .cpuprofile format), for the
 * benchmarks to print when the gateway misses a target.
 */
import { relative } from 'node:path';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface ProfileEntry {
  readonly name: string;
  readonly selfMs: number;
  readonly percent: number;
}

export interface ProfileSummary {
  readonly label: string;
  readonly totalMs: number;
  /** Time in anything but (idle), (program) and (garbage collector) is "busy". */
  readonly idleMs: number;
  readonly gcMs: number;
  readonly top: readonly ProfileEntry[];
  /** Self time by area: the gateway's own code, mediasoup's Node side, drachtio-srf, Node internals… */
  readonly byArea: readonly ProfileEntry[];
  /** The gateway's own functions (src/) by total time, callees included. */
  readonly srcInclusive: readonly ProfileEntry[];
}

export function summarizeProfile(profile: CpuProfile, label: string, repoRoot: string, topN = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const totalUs = profile.endTime - profile.startTime;
  const byFunction = new Map<string, number>();
  const byArea = new Map<string, number>();
  let idleUs = 0;
  let gcUs = 0;
  for (const [id, us] of selfUs) {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    if (functionName === '(idle)') idleUs += us;
    if (functionName === '(garbage collector)') gcUs += us;
    const where = shortUrl(url, repoRoot);
    const name = `${functionName || '(anonymous)'} ${where ? `${where}:${lineNumber + 1}` : ''}`.trim();
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    const area = areaOf(functionName, url);
    byArea.set(area, (byArea.get(area) ?? 0) + us);
  }
  // Total time per src/ function: each sample counts once for every distinct src/ function on its stack.
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const inclusive = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const { functionName, url, lineNumber } = byId.get(at)!.callFrame;
      if (!/\/src\//.test(url) || url.includes('node_modules')) continue;
      const name = `${functionName || '(anonymous)'} ${shortUrl(url, repoRoot)}:${lineNumber + 1}`;
      if (seen.has(name)) continue;
      seen.add(name);
      inclusive.set(name, (inclusive.get(name) ?? 0) + us);
    }
  }
  const entries = (m: Map<string, number>) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .map(([name, us]) => ({ name, selfMs: us / 1000, percent: (100 * us) / totalUs }));
  return {
    label,
    totalMs: totalUs / 1000,
    idleMs: idleUs / 1000,
    gcMs: gcUs / 1000,
    top: entries(byFunction).filter((e) => !e.name.startsWith('(idle)')).slice(0, topN),
    byArea: entries(byArea),
    srcInclusive: entries(inclusive).slice(0, topN),
  };
}

export function formatProfile(s: ProfileSummary): string {
  const lines = [
    `CPU profile ${s.label}: ${(s.totalMs / 1000).toFixed(1)} s wall, ${((100 * (s.totalMs - s.idleMs)) / s.totalMs).toFixed(1)}% busy, GC ${s.gcMs.toFixed(0)} ms`,
    'self time by area:',
    ...s.byArea.slice(0, 14).map((e) => `  ${e.percent.toFixed(1).padStart(5)}%  ${e.selfMs.toFixed(0).padStart(7)} ms  ${e.name}`),
    'top self-time functions:',
    ...s.top.map((e) => `  ${e.percent.toFixed(1).padStart(5)}%  ${e.selfMs.toFixed(0).padStart(7)} ms  ${e.name}`),
    "the gateway's own functions by total time (callees included):",
    ...s.srcInclusive.map((e) => `  ${e.percent.toFixed(1).padStart(5)}%  ${e.selfMs.toFixed(0).padStart(7)} ms  ${e.name}`),
  ];
  return lines.join('\n');
}

function shortUrl(url: string, repoRoot: string): string {
  if (!url) return '';
  const path = url.startsWith('file://') ? new URL(url).pathname : url;
  if (path.startsWith(repoRoot)) {
    const rel = relative(repoRoot, path);
    const nm = rel.lastIndexOf('node_modules/');
    return nm === -1 ? rel : rel.slice(nm + 'node_modules/'.length);
  }
  return path;
}

function areaOf(functionName: string, url: string): string {
  if (functionName.startsWith('(')) return functionName;
  if (!url) return '(native/builtin)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) return `npm:${pkg}`;
  const src = /\/src\/([^/]+(?:\/[^/]+)?)\//.exec(url)?.[1] ?? (/\/src\/([^/]+)$/.exec(url) ? 'src' : undefined);
  if (src) return `src/${src}`;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  return url;
}

/** A stretch of the profile during which the thread never went idle: the event loop was held that long. */
export interface BusyStretch {
  /** Start, seconds after the profile's start. */
  readonly atS: number;
  readonly ms: number;
  readonly gcMs: number;
  /** The longest time between two samples in it: the thread not running (descheduled) or in a long native call. */
  readonly longestGapMs: number;
  /** Its top self-time functions, and the gateway's own functions (src/) by total time, ms each. */
  readonly top: readonly ProfileEntry[];
  readonly srcInclusive: readonly ProfileEntry[];
}

/**
 * The stretches of at least `minMs` in which no sample was (idle), longest first: what held
 * the event loop in one go. A stall the loop suffered with samples idle (waiting on another
 * thread or process) does not show here.
 */
export function busyStretches(profile: CpuProfile, repoRoot: string, minMs: number, topN = 6): BusyStretch[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const nameOf = (id: number) => {
    const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
    const where = shortUrl(url, repoRoot);
    return `${functionName || '(anonymous)'} ${where ? `${where}:${lineNumber + 1}` : ''}`.trim();
  };
  const stretches: BusyStretch[] = [];
  let atUs = 0;
  let start = -1;
  const close = (end: number, startUs: number, endUs: number) => {
    if ((endUs - startUs) / 1000 < minMs) return;
    const self = new Map<string, number>();
    const inclusive = new Map<string, number>();
    let gcUs = 0;
    let longestGapUs = 0;
    for (let i = start; i < end; i++) {
      const id = profile.samples[i]!;
      const us = profile.timeDeltas[i + 1] ?? 0;
      longestGapUs = Math.max(longestGapUs, us);
      const name = nameOf(id);
      if (name === '(garbage collector)') gcUs += us;
      self.set(name, (self.get(name) ?? 0) + us);
      const seen = new Set<string>();
      for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
        const { url } = byId.get(at)!.callFrame;
        if (!/\/src\//.test(url) || url.includes('node_modules')) continue;
        const inclusiveName = nameOf(at);
        if (seen.has(inclusiveName)) continue;
        seen.add(inclusiveName);
        inclusive.set(inclusiveName, (inclusive.get(inclusiveName) ?? 0) + us);
      }
    }
    const totalUs = endUs - startUs;
    const entries = (m: Map<string, number>) =>
      [...m]
        .sort((a, b) => b[1] - a[1])
        .slice(0, topN)
        .map(([name, us]) => ({ name, selfMs: us / 1000, percent: (100 * us) / totalUs }));
    stretches.push({ atS: startUs / 1e6, ms: totalUs / 1000, gcMs: gcUs / 1000, longestGapMs: longestGapUs / 1000, top: entries(self), srcInclusive: entries(inclusive) });
  };
  let startUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    atUs += profile.timeDeltas[i] ?? 0;
    const idle = byId.get(profile.samples[i]!)!.callFrame.functionName === '(idle)';
    if (!idle && start === -1) {
      start = i;
      startUs = atUs;
    } else if (idle && start !== -1) {
      close(i, startUs, atUs);
      start = -1;
    }
  }
  if (start !== -1) close(profile.samples.length, startUs, atUs);
  return stretches.sort((a, b) => b.ms - a.ms);
}

export function formatBusyStretches(stretches: readonly BusyStretch[], label: string, minMs: number): string {
  const lines = [`event-loop holds of ${minMs} ms or more ${label}: ${stretches.length}`];
  for (const s of stretches) {
    lines.push(`  at ${s.atS.toFixed(2)} s: ${s.ms.toFixed(1)} ms busy without a break, GC ${s.gcMs.toFixed(1)} ms, longest gap between samples ${s.longestGapMs.toFixed(1)} ms`);
    lines.push(`    self: ${s.top.map((e) => `${e.name} ${e.selfMs.toFixed(1)}`).join('; ')}`);
    lines.push(`    src total: ${s.srcInclusive.map((e) => `${e.name} ${e.selfMs.toFixed(1)}`).join('; ')}`);
  }
  return lines.join('\n');
}
