/**
 * a=fmtp parameters. For opus (RFC 7587) we take the phone's well-formed receive-side
 * parameters (how it wants to be sent to) and echo them in our answer; sprop-* ones
 * describe the phone's own sending, so echoed they would describe us wrongly, and are
 * dropped. For telephone-event we accept the offered event list when it reads as one.
 */
import { TELEPHONE_EVENTS } from './codecs.js';

const OPUS_RANGES: Readonly<Record<string, readonly [min: number, max: number]>> = {
  minptime: [3, 120],
  useinbandfec: [0, 1],
  usedtx: [0, 1],
  stereo: [0, 1],
  cbr: [0, 1],
  maxplaybackrate: [8000, 48000],
  maxaveragebitrate: [6000, 510000],
};

/** The phone's opus receive parameters, in its order. */
export function opusReceiveParameters(offeredFmtp: string | undefined): Record<string, number> {
  const parameters: Record<string, number> = {};
  for (const pair of (offeredFmtp ?? '').split(';')) {
    const [rawName = '', rawValue = ''] = pair.split('=', 2).map((part) => part.trim());
    const name = rawName.toLowerCase();
    const range = Object.hasOwn(OPUS_RANGES, name) ? OPUS_RANGES[name] : undefined;
    const value = /^\d{1,6}$/.test(rawValue) ? Number(rawValue) : Number.NaN;
    if (range && value >= range[0] && value <= range[1] && !Object.hasOwn(parameters, name)) parameters[name] = value;
  }
  return parameters;
}

/** a=fmtp text for parameters: "minptime=10;useinbandfec=1". */
export function formatParameters(parameters: Readonly<Record<string, number>>): string | undefined {
  const text = Object.entries(parameters)
    .map(([name, value]) => `${name}=${value}`)
    .join(';');
  return text === '' ? undefined : text;
}

const EVENT_LIST = /^\d{1,3}(-\d{1,3})?(,\d{1,3}(-\d{1,3})?){0,15}$/;

/** The offered event list when it is one (e.g. "0-15" or "0-11,16"), else ours. */
export function telephoneEventList(offeredFmtp: string | undefined): string {
  const list = offeredFmtp?.replace(/\s/g, '');
  return list !== undefined && EVENT_LIST.test(list) ? list : TELEPHONE_EVENTS;
}
