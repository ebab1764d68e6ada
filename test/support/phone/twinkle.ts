/**
 * A real SIP phone for tests: one twinkle-console 1.10 (Debian) with a profile of its own,
 * driven through its command line on stdin. What it hears is written by ALSA's file plugin
 * (its "speaker"); it sends silence, since its capture needs a paced sound device that a
 * test machine does not have (../shared/e2e-recipe.md beside the project root): use it
 * for signalling and for what it hears.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findExecutable } from './find-executable.js';
import { reservePortBlock, type PortBlock } from './port-block.js';
import { ChildExit } from '../child-exit.js';

export interface TwinklePhoneOptions {
  /** Digest username, also the user of the phone's address of record. */
  readonly username: string;
  readonly password: string;
  /** host of the SIP server: the identity's domain. */
  readonly domain: string;
}

/** ALSA's file plugin writes what twinkle plays, as it plays it: G.711 audio, 16-bit mono. */
export const HEARD_SAMPLE_RATE = 8_000;
const START_TIMEOUT_MS = 5_000;
const QUIT_TIMEOUT_MS = 3_000;
const OUTPUT_TAIL_CHARS = 3_000;


export class TwinklePhone {
  private outputText = '';
  private readonly exit: ChildExit;
  private stopping: Promise<void> | undefined;

  private constructor(
    readonly home: string,
    private readonly portBlock: PortBlock,
    private readonly child: ChildProcess,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => (this.outputText += chunk.toString('utf8')));
    child.stderr?.on('data', (chunk: Buffer) => (this.outputText += chunk.toString('utf8')));
    this.exit = new ChildExit(child);
  }

  static async start(options: TwinklePhoneOptions): Promise<TwinklePhone> {
    const executable = await findExecutable('twinkle-console', 'twinkle-console');
    const home = await mkdtemp(join(tmpdir(), 'twinkle-phone-'));
    let block: PortBlock | undefined;
    let phone: TwinklePhone | undefined;
    try {
      block = await reservePortBlock();
      await mkdir(join(home, '.twinkle'));
      await writeFile(join(home, '.twinkle', 'phone.cfg'), profile(options));
      await writeFile(join(home, '.twinkle', 'twinkle.sys'), systemSettings(block));
      await writeFile(join(home, '.asoundrc'), alsaConfig(join(home, 'heard.raw')));
      const child = spawn(executable, ['phone.cfg'], { cwd: home, env: { ...process.env, HOME: home }, stdio: ['pipe', 'pipe', 'pipe'] });
      phone = new TwinklePhone(home, block, child);
      await phone.waitForOutput(/Twinkle> /, START_TIMEOUT_MS);
      return phone;
    } catch (error) {
      const detail = phone ? phone.outputTail() : '';
      if (phone) await phone.stop();
      else {
        await block?.release();
        await rm(home, { recursive: true, force: true });
      }
      throw new Error(`could not start twinkle: ${(error as Error).message}${detail}`, { cause: error });
    }
  }

  /** Calls `uri` and resolves when the far end answered; rejects with twinkle's words when the call fails. */
  async dial(uri: string, timeoutMs = 10_000): Promise<void> {
    this.type(`call ${uri}`);
    const outcome = await this.waitForOutput(/Line 1: (far end answered call|call failed\.\s*\n\S[^\n]*)/, timeoutMs);
    if (!outcome.startsWith('Line 1: far end answered')) throw new Error(`twinkle's call failed: ${outcome.replace(/\s+/g, ' ')}${this.outputTail()}`);
  }

  async hangup(timeoutMs = 5_000): Promise<void> {
    this.type('bye');
    await this.waitForOutput(/Line 1: call ended/, timeoutMs);
  }

  /** What twinkle played to its speaker: 16-bit mono at HEARD_SAMPLE_RATE. */
  async heard(): Promise<Int16Array> {
    const raw = await readFile(join(this.home, 'heard.raw')).catch(() => {
      throw new Error(`twinkle played nothing to its speaker${this.outputTail()}`);
    });
    return new Int16Array(raw.buffer, raw.byteOffset, Math.floor(raw.length / 2));
  }

  /** twinkle's own log: every SIP message it sent and received. */
  log(): Promise<string> {
    return readFile(join(this.home, '.twinkle', 'twinkle.log'), 'utf8').catch(() => '');
  }

  get output(): string {
    return this.outputText;
  }

  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    if (this.exit.code === undefined) {
      this.type('quit');
      this.child.stdin?.end();
      const timer = setTimeout(() => this.child.kill('SIGKILL'), QUIT_TIMEOUT_MS);
      await this.exit.done;
      clearTimeout(timer);
    }
    await rm(this.home, { recursive: true, force: true });
    await this.portBlock.release();
  }

  private type(line: string): void {
    if (this.exit.code !== undefined || this.stopping) throw new Error(`twinkle is not running (command ${line})`);
    this.child.stdin?.write(`${line}\n`);
  }

  /** The first match of `pattern` in output that arrives after this call. */
  private async waitForOutput(pattern: RegExp, timeoutMs: number): Promise<string> {
    const from = this.outputText.length;
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(this.outputText.slice(from));
      if (match) return match[0];
      if (this.exit.code !== undefined) throw new Error(`twinkle exited (${this.exit.code})${this.outputTail()}`);
      if (performance.now() > deadline) throw new Error(`no ${pattern} from twinkle within ${timeoutMs} ms${this.outputTail()}`);
      await sleep(25);
    }
  }

  private outputTail(): string {
    const text = this.outputText.trim();
    return text ? `\n--- twinkle output (tail) ---\n${text.slice(-OUTPUT_TAIL_CHARS)}` : '';
  }
}

/** A user profile: no registration (the gateway takes none), G.711 µ-law only. */
function profile({ username, password, domain }: TwinklePhoneOptions): string {
  return [
    `user_name=${username}`,
    `user_domain=${domain}`,
    'user_display=Twinkle',
    `auth_name=${username}`,
    `auth_pass=${password}`,
    'register_at_startup=no',
    'codecs=g711u',
    '',
  ].join('\n');
}

function systemSettings(block: PortBlock): string {
  return [
    'dev_ringtone=alsa:null',
    'dev_speaker=alsa:default',
    'dev_mic=alsa:null',
    'validate_audio_dev=no',
    `sip_port=${block.ports.sip}`,
    `rtp_port=${block.ports.rtpMin}`,
    'play_ringtone=no',
    'play_ringback=no',
    '',
  ].join('\n');
}

/** The default device writes what it is given to a file and drops it (null): no sound card needed. */
function alsaConfig(heardFile: string): string {
  return [
    `pcm.!default { type file slave.pcm "null" file "${heardFile}" format "raw" }`,
    'pcm.null { type null }',
    '',
  ].join('\n');
}
