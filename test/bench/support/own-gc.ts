/**
 * The benchmark's own garbage collection, run when the benchmark chooses: between timed
 * cases rather than inside one, where a pause of the benchmark would delay reading an
 * answer and be counted as the gateway's time. V8's `gc()` is exposed at run time, as
 * Jest does for its leak detection, so the benchmark needs no extra Node flag.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as (options: { type: 'minor' | 'major'; execution: 'sync' }) => void;

/** A full collection (after generating a chunk of cases). */
export const collectAllGarbage = (): void => gc({ type: 'major', execution: 'sync' });

/** A young-generation collection (every few cases), so none falls due inside a timed one. */
export const collectYoungGarbage = (): void => gc({ type: 'minor', execution: 'sync' });
