/**
 * What a V8 heap snapshot (.heapsnapshot) holds, counted by kind: objects by constructor,
 * closures by function name, native objects and internal arrays by name, the rest by
 * type. Two censuses of the same process, both taken with nothing going on, tell a leak
 * (a kind that grew with the work done in between) from a heap that only grew its pools.
 * The snapshot's nodes are read straight from the file's bytes, so a heap of hundreds of
 * MB does not need one string of its size.
 */
import { readFileSync } from 'node:fs';

export interface KindCount {
  count: number;
  /** Self size, bytes. */
  bytes: number;
}

export type HeapCensus = Map<string, KindCount>;

export interface KindGrowth {
  readonly kind: string;
  readonly before: number;
  readonly after: number;
  readonly countDelta: number;
  readonly bytesDelta: number;
}

interface SnapshotMeta {
  readonly snapshot: {
    readonly meta: { readonly node_fields: string[]; readonly node_types: [string[], ...unknown[]] };
    readonly node_count: number;
  };
}

/** Types whose node name says what the object is (for strings and numbers it is their value). */
const NAMED_TYPES = new Set(['object', 'closure', 'native', 'array', 'hidden', 'synthetic']);

export function heapCensus(path: string): HeapCensus {
  const file = readFileSync(path);
  const nodesAt = file.indexOf('"nodes":[');
  // A real newline: inside the strings' JSON it would be escaped.
  const stringsAt = file.indexOf('\n"strings":[', nodesAt);
  if (nodesAt < 0 || stringsAt < 0) throw new Error(`${path} is not a V8 heap snapshot`);
  const head = file.subarray(0, nodesAt).toString('utf8').trimEnd().replace(/,$/, '');
  const meta = JSON.parse(`${head}}`) as SnapshotMeta;
  const fields = meta.snapshot.meta.node_fields;
  const types = meta.snapshot.meta.node_types[0];
  const typeField = fields.indexOf('type');
  const nameField = fields.indexOf('name');
  const sizeField = fields.indexOf('self_size');
  const tail = file.subarray(stringsAt + '\n"strings":'.length).toString('utf8').trimEnd();
  const strings = JSON.parse(tail.slice(0, tail.lastIndexOf(']') + 1)) as string[];

  const census: HeapCensus = new Map();
  const record: number[] = [];
  const add = () => {
    const type = types[record[typeField]!] ?? 'unknown';
    const kind = NAMED_TYPES.has(type) ? `${type} ${strings[record[nameField]!] ?? '?'}` : type;
    const entry = census.get(kind);
    if (entry) {
      entry.count++;
      entry.bytes += record[sizeField]!;
    } else census.set(kind, { count: 1, bytes: record[sizeField]! });
    record.length = 0;
  };
  // The nodes array: unsigned integers separated by commas (and newlines), ending at ']'.
  let value = -1;
  for (let i = nodesAt + '"nodes":['.length; i < file.length; i++) {
    const byte = file[i]!;
    if (byte >= 0x30 && byte <= 0x39) {
      value = (value < 0 ? 0 : value * 10) + (byte - 0x30);
      continue;
    }
    if (value >= 0) {
      record.push(value);
      value = -1;
      if (record.length === fields.length) add();
    }
    if (byte === 0x5d) break;
  }
  return census;
}

/** The kinds that grew most in number from `before` to `after`, and those that grew most in bytes. */
export function heapGrowth(before: HeapCensus, after: HeapCensus, top = 15): { byCount: KindGrowth[]; byBytes: KindGrowth[] } {
  const kinds = new Set([...before.keys(), ...after.keys()]);
  const growth = [...kinds].map((kind): KindGrowth => {
    const b = before.get(kind) ?? { count: 0, bytes: 0 };
    const a = after.get(kind) ?? { count: 0, bytes: 0 };
    return { kind, before: b.count, after: a.count, countDelta: a.count - b.count, bytesDelta: a.bytes - b.bytes };
  });
  return {
    byCount: [...growth].sort((x, y) => y.countDelta - x.countDelta).slice(0, top),
    byBytes: [...growth].sort((x, y) => y.bytesDelta - x.bytesDelta).slice(0, top),
  };
}

/** Total self size of a census, bytes. */
export function censusBytes(census: HeapCensus): number {
  let total = 0;
  for (const { bytes } of census.values()) total += bytes;
  return total;
}
