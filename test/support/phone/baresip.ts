/**
 * A real SIP phone for tests: one headless baresip 1.0.0 process that plays a sine tone
 * as its microphone, records what it hears and sends, and is driven over ctrl_tcp.
 * See ../shared/e2e-recipe.md (beside the project root) for the facts this relies on.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sineTone } from '../audio/tone.js';
import { writeWav } from '../audio/wav.js';
import { accountsFile, configFile, SOURCE_SAMPLE_RATE, type MediaEncryption, type PhoneCodec } from './baresip-config.js';
import { locateBaresip } from './baresip-install.js';
import { BaresipControl, type BaresipEvent, type BaresipEventType } from './control.js';
import { reservePortBlock, type PhonePorts, type PortBlock } from './port-block.js';

export type { MediaEncryption, PhoneCodec } from './baresip-config.js';
export type { BaresipEvent, BaresipEventType } from './control.js';

export interface BaresipPhoneOptions {
  /** The tone the phone sends as its microphone. */
  readonly toneHz: number;
  /** The only codec the phone offers. */
  readonly codec: PhoneCodec;
  /** SIP user of the phone's address of record and digest username (default "phone"). */
  readonly username?: string;
  /** Answers digest challenges with it; without it the phone cannot authenticate. */
  readonly password?: string;
  /** host:port of the SIP server the phone belongs to; short dial targets go there. */
  readonly sipServer: string;
  /**
   * Seconds of tone (default 60). baresip does not loop the file and hangs up when it
   * ends, so this must outlast every call the phone makes.
   */
  readonly durationSeconds?: number;
  /** Transport for outgoing calls (default udp). */
  readonly transport?: 'udp' | 'tcp';
  /** SRTP with SDES (its srtp module): `srtp` offers a=crypto on RTP/AVP, `srtp-mand` on RTP/SAVP. Plain RTP without. */
  readonly mediaenc?: MediaEncryption;
}

export interface NegotiatedCodec {
  readonly name: string;
  readonly sampleRate: number;
  readonly channels: number;
}

export interface PhoneRecordings {
  /** What the phone heard (after decoding), at the codec's rate. */
  readonly decoded: string;
  /** What the phone sent (before encoding), at the codec's rate. */
  readonly encoded: string;
  readonly codec: NegotiatedCodec;
}

/** Phones a crashed or aborted test left behind die with the test process, not after it. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

const START_TIMEOUT_MS = 5_000;
const QUIT_TIMEOUT_MS = 2_000;
/** Gap between RFC 4733 digits: baresip sends one event per `sndcode` and needs time to end it. */
const DTMF_GAP_MS = 400;
const DTMF_DIGITS = /^[0-9*#A-D]+$/;
const OUTPUT_TAIL_CHARS = 3_000;

export class BaresipPhone {
  private readonly events: BaresipEvent[] = [];
  private readonly consumed = new Set<BaresipEvent>();
  private readonly waiters = new Set<{ type: string; deliver: (event: BaresipEvent) => void; fail: (error: Error) => void }>();
  private outputText = '';
  private exitCode: number | string | undefined;
  private readonly exited: Promise<void>;
  private control: BaresipControl | undefined;
  private stopping: Promise<void> | undefined;

  private constructor(
    private readonly options: BaresipPhoneOptions,
    readonly dir: string,
    private readonly portBlock: PortBlock,
    private readonly child: ChildProcess,
  ) {
    const collect = (chunk: Buffer) => (this.outputText += chunk.toString('utf8').replace(/\x1b\[[0-9;]*m/g, ''));
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    this.exited = new Promise((resolve) => {
      const done = (code: number | string) => {
        this.exitCode ??= code;
        this.failWaiters(new Error(`baresip exited (${this.exitCode})${this.outputTail()}`));
        resolve();
      };
      child.once('exit', (code, signal) => done(signal ?? code ?? 'unknown'));
      child.once('error', (error) => done(error.message));
    });
  }

  static async start(options: BaresipPhoneOptions): Promise<BaresipPhone> {
    const { executable, modulePath } = await locateBaresip();
    const dir = await mkdtemp(join(tmpdir(), 'baresip-phone-'));
    let block: PortBlock | undefined;
    let phone: BaresipPhone | undefined;
    try {
      block = await reservePortBlock();
      const { ports } = block;
      const toneWav = join(dir, 'tone.wav');
      const recordingDir = join(dir, 'rec');
      await mkdir(recordingDir);
      await writeWav(toneWav, {
        sampleRate: SOURCE_SAMPLE_RATE,
        channels: 1,
        samples: sineTone({ hz: options.toneHz, sampleRate: SOURCE_SAMPLE_RATE, seconds: options.durationSeconds ?? 60 }),
      });
      await writeFile(join(dir, 'config'), configFile({ toneWav, recordingDir, ports, modulePath, srtp: options.mediaenc !== undefined }));
      await writeFile(join(dir, 'accounts'), accountsFile({ ...options, username: options.username ?? 'phone' }));

      const child = spawn(executable, ['-f', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
      running.add(child);
      child.once('exit', () => running.delete(child));
      phone = new BaresipPhone(options, dir, block, child);
      await phone.connect();
      return phone;
    } catch (error) {
      const detail = phone ? phone.outputTail() : '';
      if (phone) await phone.stop();
      else {
        await block?.release();
        await rm(dir, { recursive: true, force: true });
      }
      throw new Error(`could not start baresip: ${(error as Error).message}${detail}`, { cause: error });
    }
  }

  /**
   * Calls `uri`: a full sip: URI, or just a user ("m1") that goes to the sip server.
   * With transport tcp the URI gets `;transport=tcp`, which is how baresip picks TCP.
   */
  async dial(uri: string): Promise<void> {
    let target = /^sips?:/i.test(uri) ? uri : `sip:${uri}@${this.options.sipServer}`;
    if (this.options.transport === 'tcp' && !/;transport=/i.test(target)) target += ';transport=tcp';
    await this.command('dial', target);
  }

  async hangup(): Promise<void> {
    await this.command('hangup');
  }

  /** Answers the call ringing now (wait for CALL_INCOMING first). Its SIP address: `sip:<username>@127.0.0.1:<ports.sip>`. */
  async accept(): Promise<void> {
    await this.command('accept');
  }

  /** RFC 4733 telephone-events, one digit at a time (baresip 1.0.0 has no SIP INFO DTMF). */
  async sendDtmf(digits: string): Promise<void> {
    if (!DTMF_DIGITS.test(digits)) throw new RangeError(`not DTMF digits: ${JSON.stringify(digits)}`);
    for (const [index, digit] of [...digits].entries()) {
      if (index > 0) await sleep(DTMF_GAP_MS);
      await this.command('sndcode', digit);
    }
  }

  /** Re-INVITE with the audio stream sendonly. */
  async hold(): Promise<void> {
    await this.command('hold');
  }

  /** Re-INVITE with the audio stream sendrecv again. */
  async resume(): Promise<void> {
    await this.command('resume');
  }

  /**
   * The oldest event of that type that no earlier call returned, waiting for it if
   * needed. Events are kept from the moment the control socket connected, so an event
   * that fired before the wait began is not lost.
   */
  waitForEvent(type: BaresipEventType, timeoutMs = 5_000): Promise<BaresipEvent> {
    const ready = this.events.find((event) => event.type === type && !this.consumed.has(event));
    if (ready) {
      this.consumed.add(ready);
      return Promise.resolve(ready);
    }
    if (this.exitCode !== undefined) return Promise.reject(new Error(`baresip exited (${this.exitCode})${this.outputTail()}`));
    return new Promise((resolve, reject) => {
      const waiter = {
        type,
        deliver: (event: BaresipEvent) => {
          clearTimeout(timer);
          resolve(event);
        },
        fail: (error: Error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        const seen = this.events.map((e) => (e.param ? `${e.type}(${e.param})` : e.type)).join(', ') || 'none';
        reject(new Error(`no ${type} event within ${timeoutMs} ms; events so far: ${seen}${this.outputTail()}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  get ports(): PhonePorts {
    return this.portBlock.ports;
  }

  /** Every event received so far, oldest first. */
  get eventLog(): readonly BaresipEvent[] {
    return this.events;
  }

  /** The codec of the latest call, from baresip's "Set audio decoder" log line. */
  get negotiatedCodec(): NegotiatedCodec | undefined {
    const match = [...this.outputText.matchAll(/Set audio decoder: (\S+) (\d+)Hz (\d+)ch/g)].at(-1);
    return match && { name: match[1]!, sampleRate: Number(match[2]), channels: Number(match[3]) };
  }

  /** baresip's stdout and stderr so far, colour codes removed. */
  get output(): string {
    return this.outputText;
  }

  /**
   * The recordings of the latest call. sndfile finishes a WAV header only when the call
   * ends, so this waits until both files are complete: call it after hangup or CALL_CLOSED.
   */
  async recordings(timeoutMs = 3_000): Promise<PhoneRecordings> {
    const decoded = this.lastLogPath('decode');
    const encoded = this.lastLogPath('encode');
    const codec = this.negotiatedCodec;
    if (!decoded || !encoded || !codec) throw new Error(`no call with audio was recorded${this.outputTail()}`);
    const deadline = performance.now() + timeoutMs;
    while (!((await wavComplete(decoded)) && (await wavComplete(encoded)))) {
      if (performance.now() > deadline) throw new Error(`recordings still open after ${timeoutMs} ms (is the call still up?): ${decoded}`);
      await sleep(25);
    }
    return { decoded, encoded, codec };
  }

  /** Quits baresip (killing it if it does not), removes its directory and frees its ports. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    if (this.exitCode === undefined) {
      // quit hangs up open calls (BYE) before exiting; it may exit before it answers.
      if (this.control) void this.control.command('quit', '', QUIT_TIMEOUT_MS).catch(() => undefined);
      else this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), QUIT_TIMEOUT_MS);
      await this.exited;
      clearTimeout(timer);
    }
    this.control?.close();
    await rm(this.dir, { recursive: true, force: true });
    await this.portBlock.release();
  }

  /**
   * Connects to ctrl_tcp, then waits for baresip's "ready": it keeps running when a
   * module fails to load (e.g. ctrl_tcp on a port in use), so a connection alone proves little.
   */
  private async connect(): Promise<void> {
    this.control = await BaresipControl.connect(this.ports.control, {
      timeoutMs: START_TIMEOUT_MS,
      stillRunning: () => this.exitCode === undefined,
      onEvent: (event) => this.receive(event),
    });
    const deadline = performance.now() + START_TIMEOUT_MS;
    while (!this.outputText.includes('baresip is ready.')) {
      if (this.exitCode !== undefined) throw new Error(`baresip exited (${this.exitCode})`);
      if (performance.now() > deadline) throw new Error(`baresip not ready within ${START_TIMEOUT_MS} ms`);
      await sleep(10);
    }
    const failed = /^module \S+: .*$/m.exec(this.outputText);
    if (failed) throw new Error(`baresip ${failed[0]}`);
  }

  private async command(command: string, params = ''): Promise<string> {
    if (!this.control || this.stopping) throw new Error(`baresip phone is not running (command ${command})`);
    return this.control.command(command, params);
  }

  private receive(event: BaresipEvent): void {
    this.events.push(event);
    for (const waiter of this.waiters) {
      if (waiter.type !== event.type) continue;
      this.waiters.delete(waiter);
      this.consumed.add(event);
      waiter.deliver(event);
      return;
    }
  }

  private failWaiters(error: Error): void {
    for (const waiter of this.waiters) waiter.fail(error);
    this.waiters.clear();
  }

  private lastLogPath(direction: 'decode' | 'encode'): string | undefined {
    return [...this.outputText.matchAll(new RegExp(`dumping ${direction} audio to (\\S+)`, 'g'))].at(-1)?.[1];
  }

  private outputTail(): string {
    const text = this.outputText.trim();
    if (!text) return '';
    return `\n--- baresip output${text.length > OUTPUT_TAIL_CHARS ? ' (tail)' : ''} ---\n${text.slice(-OUTPUT_TAIL_CHARS)}`;
  }
}

/** libsndfile writes the RIFF size when it closes the file (until then it reads 8); a call without audio leaves a bare 44-byte header. */
async function wavComplete(path: string): Promise<boolean> {
  const file = await readFile(path).catch(() => undefined);
  return file !== undefined && file.length >= 44 && file.readUInt32LE(4) === file.length - 8;
}
