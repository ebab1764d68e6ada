import { describe, expect, it } from 'vitest';
import { withAudioLevelExtension } from '../../../src/media/audio-level.js';
import { createEncoder } from '../../../src/media/codecs/frame-codecs.js';
import { G722Decoder, G722Encoder } from '../../../src/media/codecs/g722.js';
import { MixerInput, type TalkerSource } from '../../../src/media/mixer/mixer-input.js';
import { writeRtp } from '../../../src/media/rtp-packet.js';
import { dominantFrequencyHz, rmsDbfs, sineTone, toneLevelDbfs } from '../../support/audio/tone.js';
import { pcmuTone } from '../../support/rtp.js';

const LEVEL_ID = 1;
const pcmuSource: TalkerSource = { id: 'p1', ownerId: 'alice', codec: 'PCMU', clockRate: 8000, levelExtensionId: LEVEL_ID };

/** PCMU packet `seq` of a 700 Hz tone, with an RFC 6464 level, as it reaches the mixer. */
const pcmuPacket = (seq: number, ssrc = 1, timestamp = seq * 160) =>
  withAudioLevelExtension(writeRtp({ payloadType: 0, sequenceNumber: seq, timestamp, ssrc }, pcmuTone(700, seq)), LEVEL_ID, 20);

/** Runs `ticks` mixer ticks of 20 ms; `arrivals(tick)` are the packets that arrive before each. */
function play(input: MixerInput, ticks: number, arrivals: (tick: number) => Buffer[], rate: 8000 | 16000 = 8000) {
  const out: Int16Array[] = [];
  let silentTicks = 0;
  for (let tick = 0; tick < ticks; tick++) {
    for (const packet of arrivals(tick)) input.receive(packet, tick * 20);
    input.advance();
    if (input.render()) out.push(Int16Array.from(input.frame(rate)));
    else silentTicks++;
  }
  const samples = new Int16Array(out.length * out[0]!.length);
  out.forEach((frame, i) => samples.set(frame, i * frame.length));
  return { samples, silentTicks };
}

describe('MixerInput', () => {
  it('plays reordered and duplicated packets in order: the tone comes out whole', () => {
    const input = new MixerInput(pcmuSource, new Set([8000]));
    // Pairs swapped (1,0), (3,2)... and every fifth packet sent twice.
    const order = (tick: number) => [tick ^ 1, ...(tick % 5 === 0 ? [tick ^ 1] : [])];
    const { samples, silentTicks } = play(input, 100, (tick) => order(tick).map((seq) => pcmuPacket(seq)));
    expect(silentTicks).toBeLessThanOrEqual(2);
    expect(Math.abs(dominantFrequencyHz(samples, 8000, { fromSeconds: 0.1 }) - 700)).toBeLessThan(2);
    // Once the delay has grown to cover the reordering (the first half second), nothing is
    // concealed: the level stays even frame to frame.
    const frameLevels = Array.from({ length: samples.length / 160 - 25 }, (_, i) => rmsDbfs(samples.subarray((i + 25) * 160, (i + 26) * 160), 8000));
    expect(Math.max(...frameLevels) - Math.min(...frameLevels)).toBeLessThan(0.5);
  });

  it('conceals a lost packet with the last frame at half the level, and keeps playing', () => {
    const input = new MixerInput(pcmuSource, new Set([8000]));
    const { samples, silentTicks } = play(input, 40, (tick) => (tick === 20 ? [] : [pcmuPacket(tick)]));
    expect(silentTicks).toBeLessThanOrEqual(1);
    const level = (frame: number) => rmsDbfs(samples.subarray(frame * 160, (frame + 1) * 160), 8000);
    // Frame n plays packet n, so frame 20 is the concealed one.
    const concealed = level(20);
    expect(level(19) - concealed).toBeGreaterThan(5);
    expect(level(19) - concealed).toBeLessThan(7);
    expect(Math.abs(level(21) - level(19))).toBeLessThan(0.5);
  });

  it('plays a steady stream through up to 40 ms of arrival jitter without a gap', () => {
    const input = new MixerInput(pcmuSource, new Set([8000]));
    let seed = 11;
    const jitter = () => ((seed = (seed * 48271) % 2147483647) % 3); // 0-2 ticks late
    const due = new Map<number, Buffer[]>();
    for (let seq = 0; seq < 300; seq++) {
      const at = seq + jitter();
      due.set(at, [...(due.get(at) ?? []), pcmuPacket(seq)]);
    }
    const { samples } = play(input, 300, (tick) => due.get(tick) ?? []);
    const frameLevels = Array.from({ length: 200 }, (_, i) => rmsDbfs(samples.subarray((i + 50) * 160, (i + 51) * 160), 8000));
    expect(Math.min(...frameLevels)).toBeGreaterThan(rmsDbfs(samples.subarray(40 * 160, 41 * 160), 8000) - 0.5);
  });

  it('keeps an opus tone at its level after an event-loop stall: the packets of the stall are played, not skipped', () => {
    const source: TalkerSource = { id: 'o', ownerId: 'carol', codec: 'opus', clockRate: 48_000, levelExtensionId: undefined };
    const input = new MixerInput(source, new Set([16000]));
    const encoder = createEncoder('opus');
    const tone = sineTone({ hz: 1700, sampleRate: 8000, seconds: 4, amplitude: 0.25 });
    const packet = (seq: number) => writeRtp({ payloadType: 111, sequenceNumber: seq, timestamp: seq * 960, ssrc: 7 }, encoder.encode(tone.subarray(seq * 160, (seq + 1) * 160)));
    // Packets 50-52 are held up by a 60 ms stall: the mixer ticks twice before they are read.
    const { samples, silentTicks } = play(input, 200, (tick) => (tick === 50 || tick === 51 ? [] : tick === 52 ? [50, 51, 52].map(packet) : [packet(tick)]), 16000);
    expect(silentTicks).toBe(0);
    const level = (fromSeconds: number) => toneLevelDbfs(samples, 16_000, 1700, { fromSeconds, toSeconds: fromSeconds + 0.5 });
    // A SILK decoder that misses a packet it is not told about plays a steady tone several dB off for seconds.
    for (const fromSeconds of [1.5, 2, 2.5, 3, 3.5]) expect(Math.abs(level(fromSeconds) - level(0.5))).toBeLessThan(1.5);
  });

  it('follows a new SSRC with restarted numbers at once', () => {
    const input = new MixerInput(pcmuSource, new Set([8000]));
    const { silentTicks } = play(input, 60, (tick) => [tick < 30 ? pcmuPacket(tick) : pcmuPacket(tick + 20_000, 2, 99_999 + tick * 160)]);
    expect(silentTicks).toBeLessThanOrEqual(2);
  });

  it('upsamples a G.711 talker for 16 kHz legs and keeps 8 kHz for the others', () => {
    const input = new MixerInput(pcmuSource, new Set([8000, 16000]));
    const wide = play(input, 50, (tick) => [pcmuPacket(tick)], 16000);
    expect(wide.samples.length).toBe(wide.samples.length - (wide.samples.length % 320));
    expect(Math.abs(dominantFrequencyHz(wide.samples, 16_000, { fromSeconds: 0.1 }) - 700)).toBeLessThan(2);
    expect(input.frame(8000)).toHaveLength(160);
  });

  it('reads the level of the packet due before the talker is ranked: a talker is loud from its first packet after silence', () => {
    const input = new MixerInput(pcmuSource, new Set([8000]));
    for (let tick = 0; tick < 150; tick++) {
      input.advance();
      input.pass();
    }
    expect(input.loudness).toBe(0);
    input.receive(pcmuPacket(0), 3000);
    input.advance();
    expect(input.loudness).toBe(127 - 20);
    expect(input.render()).toBe(true);
  });

  it('decodes a talker afresh when it is picked again after being passed over', () => {
    const source: TalkerSource = { id: 'g', ownerId: 'bob', codec: 'G722', clockRate: 8000, levelExtensionId: LEVEL_ID };
    const input = new MixerInput(source, new Set([16000]));
    const encoder = new G722Encoder();
    const tone = sineTone({ hz: 900, sampleRate: 16_000, seconds: 1, amplitude: 0.3 });
    const payloads = Array.from({ length: 50 }, (_, i) => encoder.encode(tone.subarray(i * 320, (i + 1) * 320)));
    const packet = (seq: number) => withAudioLevelExtension(writeRtp({ payloadType: 9, sequenceNumber: seq, timestamp: seq * 160, ssrc: 5 }, payloads[seq]!), LEVEL_ID, 15);
    for (let tick = 0; tick < 30; tick++) {
      input.receive(packet(tick), tick * 20);
      input.advance();
      if (tick < 10) input.render();
      else input.pass();
    }
    expect(input.loudness).toBe(127 - 15);
    input.receive(packet(30), 600);
    input.advance();
    input.render();
    // The packet the render played is decoded as a fresh decoder would, not from state 20 packets old.
    const played = input.frame(16000);
    const fresh = [29, 30].map((seq) => new G722Decoder().decode(payloads[seq]!));
    expect(fresh.some((frame) => frame.every((sample, i) => sample === played[i]))).toBe(true);
  });
});
