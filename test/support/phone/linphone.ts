/**
 * A real SIP phone for tests: one headless linphonec (Debian linphone-cli, liblinphone
 * 5.1) that plays a sine tone as its microphone and records what it hears, driven over
 * the unix socket its --pipe mode opens (what linphonecsh talks to).
 *
 * liblinphone facts this relies on (../shared/e2e-recipe.md beside the project root):
 * - the socket is /tmp/linphonec-<uid>, so two phones at once need two uids: as root each
 *   phone runs under a uid of its own (setpriv); otherwise only one phone at a time;
 * - the core never opens its SIP port unless $HOME/.local/share/linphone exists;
 * - `soundcard use files` makes it play and record WAV files instead of a sound card;
 * - over TLS it trusts the [sip] root_ca file, checks the server's name only against DNS
 *   names of its certificate (mbedtls 2.28), and needs a TLS listening port of its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chown, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sineTone } from '../audio/tone.js';
import { type PcmAudio, writeWav } from '../audio/wav.js';
import { findExecutable } from './find-executable.js';
import { reservePortBlock, takeLock, type PortBlock } from './port-block.js';
import { ChildExit } from '../child-exit.js';

export type LinphoneCodec = 'PCMU' | 'G722' | 'opus';

export interface LinphonePhoneOptions {
  /** The tone the phone sends as its microphone. */
  readonly toneHz: number;
  /** The only audio codec the phone offers. */
  readonly codec: LinphoneCodec;
  /** Digest username, also the user of the phone's address of record. */
  readonly username: string;
  readonly password: string;
  /** host:port of the SIP server; the host is also the digest realm and the identity's domain. */
  readonly sipServer: string;
  /** How the phone sends DTMF (default rfc4733: telephone-events in the RTP stream). */
  readonly dtmf?: 'rfc4733' | 'sip-info';
  /**
   * SIP over TLS to `sipServer` (then a TLS port) instead of UDP, trusting only this PEM
   * certificate (root_ca), with the server's certificate and name checked.
   */
  readonly tls?: { readonly trustedCertificate: string };
}

/** The state column of linphonec's `calls` table (liblinphone's LinphoneCallState names). */
export type LinphoneCallState = 'OutgoingProgress' | 'OutgoingRinging' | 'Connected' | 'StreamsRunning' | 'Paused' | 'End' | 'Error';

/** liblinphone's name for each codec in `codec list`. */
const CODEC_LIST_NAMES: Record<LinphoneCodec, string> = { PCMU: 'PCMU', G722: 'G722', opus: 'opus' };
/** liblinphone's file player takes 8 kHz mono and resamples it to the codec's rate. */
const TONE_SAMPLE_RATE = 8_000;
const TONE_SECONDS = 120;
const START_TIMEOUT_MS = 10_000;
const COMMAND_TIMEOUT_MS = 5_000;
const QUIT_TIMEOUT_MS = 3_000;
const DTMF_DIGITS = /^[0-9*#A-D]+$/;
/** Uids for phones run as root: unused by the system, one lock file each. */
const FIRST_UID = 61_000;
const UID_COUNT = 16;
const UID_LOCK_DIR = join(tmpdir(), 'linphone-harness-uids');
const LOG_TAIL_CHARS = 3_000;
const WAV_HEADER_BYTES = 44;
/** The one certificate a TLS phone trusts, in its home. */
const TRUSTED_CERTIFICATE_FILE = 'trusted-ca.pem';


export class LinphonePhone {
  private readonly exit: ChildExit;
  private stopping: Promise<void> | undefined;

  private constructor(
    readonly options: LinphonePhoneOptions,
    readonly home: string,
    private readonly uid: Uid,
    private readonly portBlock: PortBlock,
    private readonly child: ChildProcess,
  ) {
    this.exit = new ChildExit(child);
  }

  static async start(options: LinphonePhoneOptions): Promise<LinphonePhone> {
    const executable = await findExecutable('linphonec', 'linphone-cli');
    const home = await mkdtemp(join(tmpdir(), 'linphone-phone-'));
    let uid: Uid | undefined;
    let block: PortBlock | undefined;
    let phone: LinphonePhone | undefined;
    try {
      uid = await reserveUid();
      block = await reservePortBlock();
      await mkdir(join(home, '.local', 'share', 'linphone'), { recursive: true });
      await writeWav(join(home, 'tone.wav'), {
        sampleRate: TONE_SAMPLE_RATE,
        channels: 1,
        samples: sineTone({ hz: options.toneHz, sampleRate: TONE_SAMPLE_RATE, seconds: TONE_SECONDS }),
      });
      await writeFile(join(home, 'linphonerc'), linphonerc(options, block, home));
      if (options.tls) await writeFile(trustedCertificatePath(home), options.tls.trustedCertificate);
      if (uid.switchTo) await chownTree(home, uid.id, options.tls !== undefined);
      // A phone killed earlier leaves its socket; the uid is ours now, so nothing else uses it.
      await rm(socketPathOf(uid.id), { force: true });

      const rc = join(home, 'linphonerc');
      const command = [executable, '--pipe', '-c', rc, '-d', '6', '-l', join(home, 'linphonec.log')];
      const argv = uid.switchTo ? ['setpriv', `--reuid=${uid.id}`, `--regid=${uid.id}`, '--clear-groups', ...command] : command;
      const child = spawn(argv[0]!, argv.slice(1), { cwd: home, env: { ...process.env, HOME: home }, stdio: ['ignore', 'ignore', 'ignore'] });
      phone = new LinphonePhone(options, home, uid, block, child);
      await phone.ready();
      await phone.offerOnly(options.codec);
      await phone.command('soundcard use files');
      await phone.command(`play ${join(home, 'tone.wav')}`);
      await phone.command(`record ${phone.recordingPath}`);
      return phone;
    } catch (error) {
      const detail = phone ? await phone.logTail() : '';
      if (phone) await phone.stop();
      else {
        await block?.release();
        await uid?.release();
        await rm(home, { recursive: true, force: true });
      }
      throw new Error(`could not start linphonec: ${(error as Error).message}${detail}`, { cause: error });
    }
  }

  get recordingPath(): string {
    return join(this.home, 'heard.wav');
  }

  async dial(uri: string): Promise<void> {
    const answer = await this.command(`call ${uri}`);
    if (!/Establishing call/i.test(answer)) throw new Error(`linphonec did not place the call: ${answer.trim()}`);
  }

  /** Waits until the current call reaches `state`; fails early when it ends otherwise. */
  async waitForCall(state: LinphoneCallState, timeoutMs = 10_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    let last = '';
    for (;;) {
      last = await this.command('calls');
      if (new RegExp(`\\|\\s*${state}\\s*\\|`).test(last)) return;
      if (/No active call/.test(last)) throw new Error(`the call ended before reaching ${state}${await this.logTail()}`);
      if (performance.now() > deadline) throw new Error(`the call did not reach ${state} within ${timeoutMs} ms: ${last.trim()}${await this.logTail()}`);
      await sleep(100);
    }
  }

  /** Resolves once linphonec has no call left. */
  async waitForNoCall(timeoutMs = 10_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (!/No active call/.test(await this.command('calls'))) {
      if (performance.now() > deadline) throw new Error(`a call is still up after ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  async hangup(): Promise<void> {
    await this.command('terminate');
    await this.waitForNoCall(5_000);
  }

  /**
   * One digit per command: linphonec sends a bare digit typed during a call as DTMF, then
   * sleeps a second before it answers (ms_sleep(1) in its command parser), so the digits
   * go out a second apart, each a separate event (RFC 4733) or INFO transaction.
   */
  async sendDtmf(digits: string): Promise<void> {
    if (!DTMF_DIGITS.test(digits)) throw new RangeError(`not DTMF digits: ${JSON.stringify(digits)}`);
    for (const digit of digits) await this.command(digit);
  }

  /**
   * What the phone heard during its last call. mediastreamer's recorder fills in the WAV
   * sizes when the call ends (so call this after hangup), and counts the 44-byte header
   * into them: the samples are read from the header's format and the file's length.
   */
  async recording(timeoutMs = 3_000): Promise<PcmAudio> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const file = await readFile(this.recordingPath).catch(() => undefined);
      if (file && file.length > WAV_HEADER_BYTES && file.readUInt32LE(40) > 0) return recordedPcm(file);
      if (performance.now() > deadline) throw new Error(`no complete recording at ${this.recordingPath} after ${timeoutMs} ms`);
      await sleep(50);
    }
  }

  /** linphonec's own log: every SIP message it sent and received. */
  log(): Promise<string> {
    return readFile(join(this.home, 'linphonec.log'), 'utf8').catch(() => '');
  }

  /** The tail of the log, for failure messages. */
  async logTail(): Promise<string> {
    const text = await this.log();
    return text ? `\n--- linphonec log (tail) ---\n${text.slice(-LOG_TAIL_CHARS)}` : '';
  }

  /** Quits linphonec (killing it if it does not), removes its home and frees its uid and ports. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  private async shutdown(): Promise<void> {
    if (this.exit.code === undefined) {
      // quit ends a call in progress (BYE) first; the socket may close without an answer.
      await this.send('quit', QUIT_TIMEOUT_MS).catch(() => undefined);
      const timer = setTimeout(() => this.child.kill('SIGKILL'), QUIT_TIMEOUT_MS);
      await this.exit.done;
      clearTimeout(timer);
    }
    await rm(this.home, { recursive: true, force: true });
    await rm(this.socketPath, { force: true });
    await this.portBlock.release();
    await this.uid.release();
  }

  private get socketPath(): string {
    return socketPathOf(this.uid.id);
  }

  /** The core is up once it reports the SIP port it was given (0 until then). */
  private async ready(): Promise<void> {
    const deadline = performance.now() + START_TIMEOUT_MS;
    let ports = '';
    for (;;) {
      if (this.exit.code !== undefined) throw new Error(`linphonec exited (${this.exit.code})`);
      ports = await this.send('ports', 1_000).catch(() => '');
      if (ports.includes(`sip port = ${this.portBlock.ports.sip}`)) return;
      if (performance.now() > deadline) throw new Error(`linphonec not listening on SIP port ${this.portBlock.ports.sip} within ${START_TIMEOUT_MS} ms: ${ports.trim()}`);
      await sleep(50);
    }
  }

  private async offerOnly(codec: LinphoneCodec): Promise<void> {
    const wanted = CODEC_LIST_NAMES[codec];
    const listed = [...(await this.command('codec list')).matchAll(/^\s*(\d+): (\S+) \(\d+\) (enabled|disabled)$/gm)];
    if (!listed.some(([, , name]) => name === wanted)) throw new Error(`linphonec has no ${wanted} codec`);
    for (const [, index, name, state] of listed) {
      if ((name === wanted) !== (state === 'enabled')) await this.command(`codec ${name === wanted ? 'enable' : 'disable'} ${index}`);
    }
  }

  private async command(line: string): Promise<string> {
    if (this.stopping) throw new Error(`linphonec is stopping (command ${line})`);
    if (this.exit.code !== undefined) throw new Error(`linphonec exited (${this.exit.code}) (command ${line})${await this.logTail()}`);
    return this.send(line, COMMAND_TIMEOUT_MS);
  }

  /** One command per connection, as linphonecsh does: the answer ends when linphonec closes it. */
  private send(line: string, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = createConnection(this.socketPath);
      let answer = '';
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`linphonec did not answer "${line}" within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.setEncoding('utf8');
      socket.on('connect', () => socket.write(line));
      socket.on('data', (chunk: string) => (answer += chunk));
      socket.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.on('close', () => {
        clearTimeout(timer);
        resolve(answer);
      });
    });
  }
}

/** A canonical 44-byte PCM WAV header, as MSFileRec writes it, then 16-bit samples. */
function recordedPcm(file: Buffer): PcmAudio {
  if (file.toString('latin1', 0, 4) !== 'RIFF' || file.toString('latin1', 36, 40) !== 'data' || file.readUInt16LE(34) !== 16) {
    throw new Error('linphonec recording is not a 16-bit PCM WAV');
  }
  const channels = file.readUInt16LE(22);
  const sampleRate = file.readUInt32LE(24);
  const pcm = file.subarray(WAV_HEADER_BYTES, WAV_HEADER_BYTES + Math.floor((file.length - WAV_HEADER_BYTES) / (2 * channels)) * 2 * channels);
  const samples = new Int16Array(pcm.length / 2);
  for (let i = 0; i < samples.length; i++) samples[i] = pcm.readInt16LE(i * 2);
  return { sampleRate, channels, samples };
}

function linphonerc(options: LinphonePhoneOptions, block: PortBlock, home: string): string {
  const [host] = options.sipServer.split(':');
  const sipInfo = options.dtmf === 'sip-info';
  const transport = options.tls ? 'tls' : 'udp';
  return [
    '[sip]',
    `sip_port=${block.ports.sip}`,
    'sip_tcp_port=0',
    // belle-sip sends TLS only from a TLS listening point (with 0: "No listening point matching"); SIP port + 1 is free for it.
    `sip_tls_port=${options.tls ? block.ports.sip + 1 : 0}`,
    ...(options.tls ? [`root_ca=${trustedCertificatePath(home)}`, 'verify_server_certs=1', 'verify_server_cn=1'] : []),
    'default_proxy=0',
    `use_rfc2833=${sipInfo ? 0 : 1}`,
    `use_info=${sipInfo ? 1 : 0}`,
    '[rtp]',
    `audio_rtp_port=${block.ports.rtpMin}`,
    'video_rtp_port=0',
    '[sound]',
    'echocancellation=0',
    '[video]',
    'enabled=0',
    '[proxy_0]',
    `reg_proxy=<sip:${options.sipServer};transport=${transport}>`,
    `reg_identity=<sip:${options.username}@${host}>`,
    'reg_sendregister=0', // the gateway takes no registrations
    '[auth_info_0]',
    `username=${options.username}`,
    `userid=${options.username}`,
    `passwd=${options.password}`,
    `realm=${host}`,
    `domain=${host}`,
    '',
  ].join('\n');
}

function trustedCertificatePath(home: string): string {
  return join(home, TRUSTED_CERTIFICATE_FILE);
}

/** Where linphonec --pipe listens: fixed per uid. */
function socketPathOf(uid: number): string {
  return `/tmp/linphonec-${uid}`;
}

interface Uid {
  readonly id: number;
  /** true: linphonec runs under this uid (the harness runs as root). */
  readonly switchTo: boolean;
  release(): Promise<void>;
}

/** A uid no other phone uses right now, so each linphonec gets a socket of its own. */
async function reserveUid(): Promise<Uid> {
  await mkdir(UID_LOCK_DIR, { recursive: true });
  const own = process.getuid?.() ?? 0;
  const candidates = own === 0 ? Array.from({ length: UID_COUNT }, (_, i) => FIRST_UID + i) : [own];
  for (const id of candidates) {
    const lock = join(UID_LOCK_DIR, `${id}.lock`);
    if (await takeLock(lock)) return { id, switchTo: own === 0, release: () => rm(lock, { force: true }) };
  }
  throw new Error(own === 0 ? `all ${UID_COUNT} linphone uids from ${FIRST_UID} are in use` : 'another linphonec of this user is running: without root, one phone at a time');
}

/** The home's directories and the files start() wrote into it (the trusted certificate only with TLS). */
async function chownTree(dir: string, uid: number, withTls: boolean): Promise<void> {
  const files = ['tone.wav', 'linphonerc', ...(withTls ? [TRUSTED_CERTIFICATE_FILE] : [])].map((file) => join(dir, file));
  for (const path of [dir, join(dir, '.local'), join(dir, '.local', 'share'), join(dir, '.local', 'share', 'linphone'), ...files]) {
    await chown(path, uid, uid);
  }
}
