/**
 * Replays one reference recording against a live target: raw peers send the recorded
 * network messages (ports, Call-IDs and digests adapted), every server message is
 * compared with the recorded one after mapping live values back, and the wire frames
 * seen between app and server are compared with the recorded frames.
 */
import { afterEach, beforeEach, expect } from 'vitest';
import { resign } from './digest.js';
import { type DrachtioTarget, type HostPort, drachtioTarget } from './drachtio-target.js';
import { event, isHandshakeBody, loadRecording, recordedBytes, recordedWireFrames, ReplayMapping, sipTraffic, type Recording } from './recordings.js';
import { ScenarioApp, type ScenarioAppOptions } from './scenario-app.js';
import { firstLine, header } from './sip-message.js';
import { SipPeer, type ReceivedSip } from './sip-peer.js';
import { WireRecorder, type WireFrame } from './wire-recorder.js';

export interface ReplayOptions {
  /** Recorded Call-IDs to make unique for this run. */
  readonly callIds: readonly string[];
  /** Overrides of the app behaviour taken from the recording. */
  readonly app?: ScenarioAppOptions;
  /** Password the replayed Authorization headers are re-signed with. */
  readonly password?: string;
}

const BYTES_FIELD: Record<string, number> = { sip: 3, response: 5 };

function recordedPort(address: string): number {
  return Number(address.split(':').pop());
}

/**
 * For a describe block of replays: each test gets a fresh drachtio target (by default the
 * stand-in or the real server the environment names), and after it the replay it
 * started and the target are closed.
 */
export function replaysPerTest(
  makeTarget: () => Promise<DrachtioTarget> = drachtioTarget,
): { readonly target: DrachtioTarget; start(name: string, options: ReplayOptions): Promise<Replay> } {
  let target: DrachtioTarget | undefined;
  let started: Replay | undefined;
  beforeEach(async () => {
    target = await makeTarget();
  });
  afterEach(async () => {
    await started?.close();
    started = undefined;
    await target?.close();
  });
  return {
    get target() {
      if (!target) throw new Error('the drachtio target exists only inside a test');
      return target;
    },
    async start(name, options) {
      started = await Replay.start(this.target, name, options);
      return started;
    },
  };
}

export class Replay {
  /** Sizes of the messages the peers sent: what `sip|network|<bytes>` must report. */
  readonly sentSizes = new Set<number>();
  /** Live peers by the recorded port they stand in for. */
  private readonly peers = new Map<number, SipPeer>();

  private constructor(
    readonly recording: Recording,
    readonly mapping: ReplayMapping,
    readonly recorder: WireRecorder,
    readonly app: ScenarioApp,
    private readonly sipAddress: HostPort,
    private readonly password: string,
  ) {}

  static async start(target: DrachtioTarget, name: string, options: ReplayOptions): Promise<Replay> {
    const recording = loadRecording(name);
    const recorder = await WireRecorder.start(target.adminAddress);
    const app = await ScenarioApp.connect(recorder.address, target.secret, { ...recordedAppBehaviour(recording), ...options.app });
    await recorder.routeTaken('invite');
    const mapping = new ReplayMapping('127.0.0.1:5060', `${target.sipAddress.host}:${target.sipAddress.port}`);
    for (const callId of options.callIds) mapping.uniqueCallId(callId);
    return new Replay(recording, mapping, recorder, app, target.sipAddress, options.password ?? 's3cret');
  }

  /** The first peer the replay opened. */
  get peer(): SipPeer {
    const first = this.peers.values().next().value;
    if (!first) throw new Error('no peer has sent anything yet');
    return first;
  }

  /** The recorded SIP text of a network event, adapted to this run (and re-signed). */
  adapted(id: string): string {
    const signed = resign(this.mapping.adapt(event(this.recording, id).text!), this.password);
    if (signed.recorded && signed.live) this.mapping.add(signed.recorded, signed.live);
    return signed.text;
  }

  /**
   * The opening all the INVITE recordings share: INVITE (N1), 100 (N2), the 401 (N3), its
   * ACK (N4), the INVITE with credentials (N5), 100 (N6). Returns the server's next
   * message for that INVITE (N7: a 180, the 200, or the 403).
   */
  async authenticatedInvite(): Promise<ReceivedSip> {
    await this.send('N1');
    await this.expect('N2');
    await this.expect('N3');
    await this.send('N4');
    await this.send('N5');
    await this.expect('N6');
    return this.expect('N7');
  }

  /** Sends recorded message `id` from the peer standing in for its recorded source port. */
  async send(id: string): Promise<string> {
    const recorded = event(this.recording, id);
    const peer = await this.peerFor(recordedPort(recorded.src), recorded.transport === 'tcp' ? 'tcp' : 'udp');
    if (recorded.base64 !== undefined) {
      const data = recordedBytes(this.recording, id);
      peer.send(data);
      return data.toString('latin1');
    }
    const text = this.adapted(id);
    peer.send(text);
    this.sentSizes.add(Buffer.byteLength(text, 'utf8'));
    return text;
  }

  /** Waits for the server's counterpart of recorded message `id` and checks it equals the recording. */
  async expect(id: string, timeoutMs = 3000): Promise<ReceivedSip> {
    const recorded = event(this.recording, id);
    const text = recorded.text!;
    const peer = await this.peerFor(recordedPort(recorded.dst), recorded.transport === 'tcp' ? 'tcp' : 'udp');
    const line = firstLine(text);
    const cseq = header(text, 'CSeq');
    const received = await peer
      .next((m) => this.mapping.normalize(firstLine(m.text)) === line && header(m.text, 'CSeq') === cseq, timeoutMs)
      .catch((err: Error) => {
        throw new Error(`waiting for recorded ${id} (${line}, CSeq ${cseq}): ${err.message}`, { cause: err });
      });
    this.mapping.learn(text, received.text);
    expect(this.mapping.normalize(received.text), `network message ${id}`).toBe(text);
    return received;
  }

  /**
   * Compares every non-handshake wire frame (or those listed) with the recorded one in the
   * same position per direction: same fields and SIP text once ids, times, sizes and live
   * values are normalised, with transaction and message ids reused exactly where the
   * recording reuses them. Also checks every frame's length prefix and size field.
   */
  async compareWire(only?: readonly string[]): Promise<void> {
    const recorded = recordedWireFrames(this.recording).filter((f) => !isHandshakeBody(f.body) && (!only || only.includes(f.id)));
    await this.settle(recorded.length);
    const live = sipTraffic(this.recorder.frames);
    expect(live.map((f) => `${f.direction} ${f.message.type}`)).toEqual(recorded.map((f) => `${f.direction} ${f.body.split('|')[1]}`));
    const queues = { 'to-server': live.filter((f) => f.direction === 'to-server'), 'from-server': live.filter((f) => f.direction === 'from-server') };
    const recordedIds = new Map<string, string>();
    const liveIds = new Map<string, string>();
    for (const frame of recorded) {
      const actual = queues[frame.direction].shift()!;
      checkFrameSize(actual, this.sentSizes);
      expect(normalizeBytes(this.mapping.normalizeWire(actual.body, liveIds, true)), `wire frame ${frame.id}`).toBe(
        normalizeBytes(this.mapping.normalizeWire(frame.body, recordedIds, false)),
      );
    }
  }

  async close(): Promise<void> {
    this.app.disconnect();
    for (const peer of this.peers.values()) await peer.close();
    await this.recorder.close();
  }

  private async peerFor(port: number, transport: 'udp' | 'tcp'): Promise<SipPeer> {
    const existing = this.peers.get(port);
    if (existing) return existing;
    const peer = transport === 'tcp' ? await SipPeer.tcp(this.sipAddress) : await SipPeer.udp(this.sipAddress);
    this.mapping.addPort(port, peer.port);
    this.peers.set(port, peer);
    return peer;
  }

  /** Waits until the recorder has seen `expected` SIP-related frames (or the timeout passes). */
  private async settle(expected: number, timeoutMs = 3000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (sipTraffic(this.recorder.frames).length < expected && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

/** The recorded app's challenge nonce and SDP answers, so the live app sends byte-identical messages. */
function recordedAppBehaviour(recording: Recording): ScenarioAppOptions {
  const appFrames = recordedWireFrames(recording).filter((f) => f.direction === 'to-server');
  const nonces = appFrames.map((f) => /nonce="(\d+)"/.exec(f.body)?.[1]).filter((n): n is string => n !== undefined);
  const answers = appFrames
    .filter((f) => f.body.includes('\r\nSIP/2.0 200 OK\r\n') && / INVITE\r\n/.test(f.body))
    .map((f) => f.body.slice(f.body.indexOf('\r\n\r\n') + 4));
  const cdr = recordedWireFrames(recording).some((f) => f.body.includes('|route|cdr:'));
  return { ...(nonces.length > 0 ? { nonces } : {}), ...(answers.length > 0 ? { answers } : {}), cdr };
}

/**
 * The length prefix counts the body's bytes; a network message's size field is the size it
 * had on the network (before the Via was stamped; a CANCEL reports its INVITE's), and an
 * echo's or server-generated message's size field counts its SIP text.
 */
function checkFrameSize(frame: WireFrame, sentSizes: ReadonlySet<number>): void {
  expect(frame.declaredLength).toBe(Buffer.byteLength(frame.body, 'utf8'));
  const index = BYTES_FIELD[frame.message.type];
  const sip = frame.message.sip;
  if (index === undefined || sip === undefined || frame.direction !== 'from-server') return;
  const fields = frame.body.slice(0, frame.body.indexOf('\r\n')).split('|');
  if (frame.message.type === 'response' && fields[3] !== 'OK') return;
  const size = Number(fields[index]);
  if (fields[2] === 'network') expect(sentSizes).toContain(size);
  else expect(size).toBe(Buffer.byteLength(sip, 'utf8'));
}

function normalizeBytes(body: string): string {
  const crlf = body.indexOf('\r\n');
  const fields = (crlf === -1 ? body : body.slice(0, crlf)).split('|');
  const index = BYTES_FIELD[fields[1] ?? ''];
  if (index !== undefined && /^\d+$/.test(fields[index] ?? '') && (fields[1] === 'sip' || fields[3] === 'OK')) fields[index] = '<bytes>';
  return `${fields.join('|')}${crlf === -1 ? '' : body.slice(crlf)}`;
}
