/**
 * One visit to a meeting: join (signaling → device → microphone → join → transports),
 * keep the roster and remote audio current from notifications, and end on leave or on
 * the socket closing, whichever comes first.
 */
import type { Notifications, ParticipantView, ProducerView } from '../signaling/protocol.js';
import type { AudioPlayback } from './audio-playback.js';
import { type ClosedNotice, closedNotice } from './close-reasons.js';
import type { MeetingState } from './debug-hook.js';
import { MediaSession } from './media-session.js';
import { Roster } from './roster.js';
import { SignalingClient, SocketClosedError } from './signaling-client.js';
import type { MeetingView, NoticeText } from './ui.js';

// Raw microphone: processing lowers a tone's level and is not needed for a bridge.
const MICROPHONE: MediaStreamConstraints = {
  audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
};

export class Meeting {
  private current: MeetingState = 'idle';
  private lastCloseCode: number | null = null;
  private roster: Roster | undefined;
  private signaling: SignalingClient | undefined;
  private media: MediaSession | undefined;
  private microphone: MediaStreamTrack | undefined;
  private microphoneMuted = false;
  /** Why the server said it closes the socket (meetingEnded, serverClosing, removed), when it did. */
  private closeReason: string | undefined;

  constructor(
    readonly meetingId: string,
    private readonly signalingUrl: string,
    private readonly view: MeetingView,
    private readonly playback: AudioPlayback,
  ) {}

  get state(): MeetingState {
    return this.current;
  }

  /** The socket's close code once the meeting closed; null before, or when the page closed it. */
  get closeCode(): number | null {
    return this.lastCloseCode;
  }

  get selfId(): string | null {
    return this.roster?.selfId ?? null;
  }

  get participants(): ParticipantView[] {
    return this.roster?.list() ?? [];
  }

  get remoteStreams(): ReadonlyMap<string, MediaStream> {
    return this.media?.remoteStreams ?? new Map();
  }

  async join(displayName: string): Promise<void> {
    if (this.state !== 'idle') return;
    this.setState('joining');
    try {
      const signaling = await SignalingClient.connect(this.signalingUrl);
      this.signaling = signaling;
      signaling.onClose((code) => this.end('closed', code, closedNotice(code, true, this.closeReason)));
      signaling.on('meetingEnded', ({ reason }) => (this.closeReason = reason));
      signaling.on('serverClosing', ({ reason }) => (this.closeReason = reason));
      signaling.on('removed', ({ reason }) => (this.closeReason = reason));
      // Another node hosts the meeting: its page there joins again (with the same ?name=, if any).
      signaling.on('redirect', ({ url }) => window.location.assign(url + window.location.search));

      const media = await MediaSession.create(signaling, {
        remoteAudioAdded: (participantId, stream) => this.playback.play(participantId, stream),
        remoteAudioRemoved: (participantId) => this.playback.stop(participantId),
        connectionFailed: () =>
          this.view.showNotice('error', { title: 'The audio connection failed.', detail: 'Reload the page to rejoin.' }),
      });
      this.media = media;
      // Asked only once the meeting is known to exist, so nobody grants a dead link the microphone.
      const microphone = await openMicrophone();
      if (microphone instanceof MediaStreamTrack) this.microphone = microphone;
      if (this.hasEnded()) return this.microphone?.stop(); // closed while the user was asked
      const joined = await signaling.request('join', { displayName, rtpCapabilities: media.rtpCapabilities });
      if (this.hasEnded()) return;

      // Subscribed right after the answer: later frames are later tasks, so none is missed.
      const roster = this.followRoster(signaling, media, joined.participantId);
      roster.upsert(...joined.participants);
      if (!roster.get(joined.participantId)) {
        roster.upsert({ id: joined.participantId, displayName, kind: 'browser', muted: false, speaking: false });
      }
      this.view.showMeeting(this.meetingId, joined.meetingTitle);
      this.view.showDialOut(joined.canDialOut);
      signaling.on('dialOut', (progress) => this.view.setDialOutStatus(dialOutStatus(progress)));
      this.setState('joined');

      await media.receive();
      for (const producer of joined.producers) this.consume(producer);
      if (microphone instanceof MediaStreamTrack) {
        await media.send(microphone);
        this.view.setMicrophone('live');
      } else {
        this.view.setMicrophone('unavailable');
        this.view.showNotice('warning', microphone);
      }
    } catch (error) {
      this.failed(error);
    }
  }

  toggleMicrophone(): void {
    if (this.state !== 'joined' || !this.media?.sending || !this.roster) return;
    this.microphoneMuted = !this.microphoneMuted;
    this.media.setMicrophoneMuted(this.microphoneMuted);
    this.roster.setMuted(this.roster.selfId, this.microphoneMuted);
    this.view.setMicrophone(this.microphoneMuted ? 'muted' : 'live');
    this.signaling
      ?.request('mute', { muted: this.microphoneMuted })
      .catch((error: unknown) => console.warn('the server was not told about mute', error));
  }

  /** Calls a phone or SIP address into the meeting; its progress comes as dialOut notifications. */
  dialOut(to: string, trunk: string | undefined): void {
    if (this.state !== 'joined' || !this.signaling) return;
    this.view.setDialOutStatus(`Calling ${to}…`);
    this.signaling
      .request('dialOut', { to, ...(trunk && { trunk }) })
      .catch((error: unknown) => this.view.setDialOutStatus(`Could not call ${to}: ${errorMessage(error)}`));
  }

  async leave(): Promise<void> {
    if (this.state !== 'joined') return;
    const signaling = this.signaling;
    this.end('left', null, { title: 'You left the meeting.', canRetry: true });
    // Polite but not required: closing the socket leaves the meeting too.
    await signaling?.request('leave', {}).catch(() => undefined);
    signaling?.close();
  }

  private followRoster(signaling: SignalingClient, media: MediaSession, selfId: string): Roster {
    const roster = new Roster(selfId);
    this.roster = roster;
    roster.onChange(() => this.view.renderParticipants(roster.list(), selfId));
    signaling.on('participantJoined', ({ participant }) => roster.upsert(participant));
    signaling.on('participantUpdated', ({ participant }) => roster.upsert(participant));
    signaling.on('participantLeft', ({ participantId }) => {
      roster.remove(participantId);
      media.closeParticipant(participantId);
    });
    signaling.on('speakers', ({ participantIds }) => roster.setSpeakers(participantIds));
    signaling.on('producerAdded', (producer) => {
      if (producer.participantId !== selfId) this.consume(producer);
    });
    signaling.on('consumerClosed', ({ consumerId }) => media.closeConsumer(consumerId));
    return roster;
  }

  private consume(producer: ProducerView): void {
    this.media?.consume(producer).catch((error: unknown) => {
      if (this.state !== 'joined') return;
      const who = this.roster?.get(producer.participantId)?.displayName ?? 'a participant';
      console.warn(`could not receive audio from ${who}`, error);
      this.view.showNotice('warning', { title: `Could not receive audio from ${who}.`, detail: errorMessage(error) });
    });
  }

  private failed(error: unknown): void {
    if (this.hasEnded()) return;
    if (error instanceof SocketClosedError) {
      this.end('closed', error.closeCode, closedNotice(error.closeCode, false, this.closeReason));
      return;
    }
    console.error('joining the meeting failed', error);
    this.signaling?.close();
    this.end('closed', null, { title: 'Could not join the meeting.', detail: errorMessage(error), canRetry: true });
  }

  /** The one way out: tears the media down and shows why, once. */
  private end(state: 'left' | 'closed', closeCode: number | null, notice: ClosedNotice): void {
    if (this.hasEnded()) return;
    this.lastCloseCode = closeCode;
    this.setState(state);
    this.media?.close();
    this.microphone?.stop();
    this.playback.stopAll();
    // A fresh page is a fresh visit: ?name= joins again at once, else the form shows.
    const retry = { label: state === 'left' ? 'Rejoin' : 'Try again', run: () => location.reload() };
    this.view.showNotice(state === 'left' ? 'info' : 'error', notice, notice.canRetry ? retry : undefined);
  }

  /** A method, not an inline test, because the state changes while join() awaits. */
  private hasEnded(): boolean {
    return this.state === 'left' || this.state === 'closed';
  }

  private setState(state: MeetingState): void {
    this.current = state;
    this.view.showState(state);
  }
}

/** The microphone track, or why there is none (the user can still listen). */
async function openMicrophone(): Promise<MediaStreamTrack | NoticeText> {
  try {
    const stream = await navigator.mediaDevices.getUserMedia(MICROPHONE);
    const [track] = stream.getAudioTracks();
    if (track) return track;
  } catch (error) {
    if (error instanceof DOMException && error.name === 'NotAllowedError') {
      return { title: 'Microphone access was blocked.', detail: 'You can listen; allow the microphone and rejoin to speak.' };
    }
    console.warn('no microphone', error);
  }
  return { title: 'No microphone was found.', detail: 'You can listen, but others will not hear you.' };
}

const DIAL_OUT_STATES: Record<string, string> = {
  calling: 'calling',
  ringing: 'ringing',
  answered: 'answered, in the meeting',
  busy: 'busy',
  'no-answer': 'no answer',
  failed: 'failed',
  cancelled: 'cancelled',
  ended: 'call ended',
};

function dialOutStatus({ to, state, sipStatus, reason }: Notifications['dialOut']): string {
  const why = [sipStatus, reason].filter((part) => part !== undefined && part !== '').join(' ');
  return `${to}: ${DIAL_OUT_STATES[state] ?? state}${why ? ` (${why})` : ''}`;
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
