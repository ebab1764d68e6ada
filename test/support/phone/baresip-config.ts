/** The files of a baresip 1.0.0 config directory (`baresip -f <dir>`), headless. */
import type { PhonePorts } from './port-block.js';

export type PhoneCodec = 'PCMU' | 'PCMA' | 'G722' | 'opus';
export type MediaEncryption = 'srtp' | 'srtp-mand';

/** baresip matches codec names with their rate and channels unless they are 8 kHz mono. */
const CODEC_NAMES: Record<PhoneCodec, string> = {
  PCMU: 'PCMU',
  PCMA: 'PCMA',
  G722: 'G722/16000/1',
  opus: 'opus/48000/2',
};

/** The sample rate the tone WAV must have: aufile does not resample the file itself. */
export const SOURCE_SAMPLE_RATE = 48_000;

export interface ConfigFiles {
  readonly toneWav: string;
  readonly recordingDir: string;
  readonly ports: PhonePorts;
  readonly modulePath: string;
  /** Loads the srtp module, for an account with mediaenc. */
  readonly srtp?: boolean;
}

export function configFile({ toneWav, recordingDir, ports, modulePath, srtp = false }: ConfigFiles): string {
  return [
    `module_path ${modulePath}`, // without it baresip looks for modules in its working directory
    `sip_listen 127.0.0.1:${ports.sip}`,
    'net_interface 127.0.0.1', // else the SDP advertises the first non-loopback interface
    `rtp_ports ${ports.rtpMin}-${ports.rtpMax}`,
    `audio_source aufile,${toneWav}`,
    `ausrc_srate ${SOURCE_SAMPLE_RATE}`,
    'ausrc_channels 1',
    // No sound card: ALSA would fail the call.
    'audio_player aubridge,nil',
    'audio_alert aubridge,nil',
    'module g711.so',
    ...(srtp ? ['module srtp.so'] : []),
    'module g722.so',
    'module opus.so',
    'module aufile.so',
    'module aubridge.so',
    'module sndfile.so',
    `snd_path ${recordingDir}`,
    'module_tmp account.so',
    'module_app menu.so',
    'module_app ctrl_tcp.so',
    `ctrl_tcp_listen 127.0.0.1:${ports.control}`,
    'statmode_default off',
    'ringback_disabled yes',
    'menu_bell no',
    '',
  ].join('\n');
}

export interface AccountOptions {
  readonly username: string;
  readonly password?: string;
  readonly sipServer: string;
  readonly codec: PhoneCodec;
  readonly mediaenc?: MediaEncryption;
}

/** One account that never registers (regint=0) and offers exactly one audio codec. */
export function accountsFile({ username, password, sipServer, codec, mediaenc }: AccountOptions): string {
  const params = [
    password === undefined ? undefined : `auth_pass=${password}`,
    'regint=0',
    `audio_codecs=${CODEC_NAMES[codec]}`,
    mediaenc === undefined ? undefined : `mediaenc=${mediaenc}`,
  ];
  return `<sip:${username}@${sipServer}>;${params.filter((p) => p !== undefined).join(';')}\n`;
}
