/**
 * The meeting page's entry point (bundled to /assets/main.js): finds the meeting in the
 * URL, wires the view to a Meeting, joins at once when the URL carries ?name=, and
 * publishes the read-only debug hook that browser tests use.
 */
import { AudioPlayback } from './audio-playback.js';
import { installDebugHook } from './debug-hook.js';
import { Meeting } from './meeting.js';
import { measureToneHz } from './tone-meter.js';
import { MeetingView } from './ui.js';

const NAME_KEY = 'meeting.displayName';

const meetingId = decodeURIComponent(location.pathname.split('/').filter(Boolean).pop() ?? '');
const signalingUrl = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws/meetings/${encodeURIComponent(meetingId)}`;

const view = new MeetingView();
const playback = new AudioPlayback(view.audioSinks, () => view.offerSound(() => playback.allowSound()));
const meeting = new Meeting(meetingId, signalingUrl, view, playback);

view.showMeeting(meetingId);
view.onJoin((displayName) => {
  rememberName(displayName);
  void meeting.join(displayName);
});
view.onToggleMicrophone(() => meeting.toggleMicrophone());
view.onLeave(() => void meeting.leave());
view.onDialOut((to, trunk) => meeting.dialOut(to, trunk));

installDebugHook<MediaStream>({
  meetingId,
  get state() {
    return meeting.state;
  },
  get closeCode() {
    return meeting.closeCode;
  },
  get selfId() {
    return meeting.selfId;
  },
  get participants() {
    return meeting.participants;
  },
  get remoteStreams() {
    return meeting.remoteStreams;
  },
  measureRemoteToneHz: (participantId) => measureToneHz(remoteStream(participantId)),
  measureToneHz,
});

const nameFromUrl = new URLSearchParams(location.search).get('name')?.trim();
if (nameFromUrl) {
  void meeting.join(nameFromUrl);
} else {
  view.showState('idle', savedName());
}

function remoteStream(participantId?: string): MediaStream {
  const streams = meeting.remoteStreams;
  if (participantId !== undefined) {
    const stream = streams.get(participantId);
    if (!stream) throw new Error(`no audio from participant ${participantId}`);
    return stream;
  }
  const [only, ...others] = streams.values();
  if (!only || others.length > 0) throw new Error(`give a participant id: ${streams.size} remote streams`);
  return only;
}

// Storage can be unavailable (privacy modes); the name is only a convenience.
function savedName(): string {
  try {
    return localStorage.getItem(NAME_KEY) ?? '';
  } catch {
    return '';
  }
}

function rememberName(displayName: string): void {
  try {
    localStorage.setItem(NAME_KEY, displayName);
  } catch {
    // not remembered, nothing else lost
  }
}
