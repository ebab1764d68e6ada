/**
 * The page's DOM (meeting.html): shows the meeting phase, notices and the participant
 * list, and reports the user's clicks. Holds no meeting state of its own.
 */
import type { ParticipantView } from '../signaling/protocol.js';
import type { MeetingState } from './debug-hook.js';

export type MicrophoneState = 'live' | 'muted' | 'unavailable';
export type NoticeTone = 'info' | 'warning' | 'error';

export interface NoticeText {
  readonly title: string;
  readonly detail?: string;
}

export interface NoticeAction {
  readonly label: string;
  run(): void;
}

export class MeetingView {
  readonly audioSinks = element('audio-sinks', HTMLDivElement);
  private readonly title = element('meeting-title', HTMLHeadingElement);
  private readonly meetingId = element('meeting-id', HTMLElement);
  private readonly notice = element('notice', HTMLDivElement);
  private readonly joinForm = element('join-form', HTMLFormElement);
  private readonly nameInput = element('display-name', HTMLInputElement);
  private readonly joinButton = element('join-button', HTMLButtonElement);
  private readonly room = element('room', HTMLElement);
  private readonly micButton = element('mic-toggle', HTMLButtonElement);
  private readonly soundButton = element('allow-sound', HTMLButtonElement);
  private readonly leaveButton = element('leave', HTMLButtonElement);
  private readonly participantList = element('participants', HTMLUListElement);
  private readonly participantCount = element('participant-count', HTMLElement);
  private readonly dialOutForm = element('dial-out-form', HTMLFormElement);
  private readonly dialOutTo = element('dial-out-to', HTMLInputElement);
  private readonly dialOutTrunk = element('dial-out-trunk', HTMLInputElement);
  private readonly dialOutStatus = element('dial-out-status', HTMLParagraphElement);

  showMeeting(meetingId: string, title?: string): void {
    this.meetingId.textContent = meetingId;
    this.title.textContent = title ?? 'Meeting';
    document.title = title ? `${title} · Meeting` : `Meeting ${meetingId}`;
  }

  onJoin(join: (displayName: string) => void): void {
    this.joinForm.addEventListener('submit', (event) => {
      event.preventDefault();
      const displayName = this.nameInput.value.trim();
      if (displayName) join(displayName);
    });
  }

  onToggleMicrophone(toggle: () => void): void {
    this.micButton.addEventListener('click', toggle);
  }

  onLeave(leave: () => void): void {
    this.leaveButton.addEventListener('click', leave);
  }

  /** "Invite by phone": a number or SIP address, and the trunk to call it through, if any. */
  onDialOut(dial: (to: string, trunk: string | undefined) => void): void {
    this.dialOutForm.addEventListener('submit', (event) => {
      event.preventDefault();
      const to = this.dialOutTo.value.trim();
      const trunk = this.dialOutTrunk.value.trim();
      if (to) dial(to, trunk || undefined);
    });
  }

  /** Shown only when the gateway lets the page dial out (PAGE_DIAL_OUT). */
  showDialOut(allowed: boolean): void {
    this.dialOutForm.hidden = !allowed;
  }

  setDialOutStatus(status: string): void {
    this.dialOutStatus.textContent = status;
  }

  /** Shows the form, the room or neither, as fits the meeting's state. */
  showState(state: MeetingState, displayName = ''): void {
    this.joinForm.hidden = state !== 'idle' && state !== 'joining';
    this.room.hidden = state !== 'joined';
    this.nameInput.disabled = state === 'joining';
    this.joinButton.disabled = state === 'joining';
    this.joinButton.textContent = state === 'joining' ? 'Joining…' : 'Join';
    if (state === 'idle') {
      if (displayName && !this.nameInput.value) this.nameInput.value = displayName;
      this.nameInput.focus();
    }
    if (state === 'joining') this.showNotice('info', { title: 'Joining the meeting…' });
    if (state === 'joined') this.hideNotice();
  }

  showNotice(tone: NoticeTone, text: NoticeText, action?: NoticeAction): void {
    const title = document.createElement('strong');
    title.textContent = text.title;
    const body = document.createElement('div');
    body.className = 'notice-body';
    body.append(title);
    if (text.detail) {
      const detail = document.createElement('p');
      detail.textContent = text.detail;
      body.append(detail);
    }
    const children: HTMLElement[] = [body];
    if (action) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'btn btn-small';
      button.textContent = action.label;
      button.addEventListener('click', () => action.run(), { once: true });
      children.push(button);
    }
    this.notice.replaceChildren(...children);
    this.notice.dataset.tone = tone;
    this.notice.setAttribute('role', tone === 'info' ? 'status' : 'alert');
    this.notice.hidden = false;
  }

  hideNotice(): void {
    this.notice.hidden = true;
    this.notice.replaceChildren();
  }

  setMicrophone(state: MicrophoneState): void {
    this.micButton.disabled = state === 'unavailable';
    this.micButton.setAttribute('aria-pressed', String(state === 'muted'));
    this.micButton.dataset.mic = state;
    const label = { live: 'Mute', muted: 'Unmute', unavailable: 'No microphone' }[state];
    this.micButton.replaceChildren(icon(state === 'live' ? 'mic' : 'mic-off'), text(label));
  }

  /** The browser blocked sound until a click; offers that click. */
  offerSound(allow: () => Promise<void>): void {
    this.soundButton.hidden = false;
    this.soundButton.addEventListener(
      'click',
      () => {
        this.soundButton.hidden = true;
        allow().catch((error: unknown) => console.warn('could not turn sound on', error));
      },
      { once: true },
    );
  }

  renderParticipants(participants: readonly ParticipantView[], selfId: string): void {
    this.participantList.replaceChildren(...participants.map((participant) => participantRow(participant, participant.id === selfId)));
    this.participantCount.textContent = String(participants.length);
  }
}

function participantRow(participant: ParticipantView, isSelf: boolean): HTMLLIElement {
  const row = document.createElement('li');
  row.className = 'participant';
  row.dataset.participantId = participant.id;
  row.classList.toggle('is-speaking', participant.speaking);
  row.classList.toggle('is-muted', participant.muted);

  const avatar = document.createElement('span');
  avatar.className = 'avatar';
  // A caller known only by number gets a phone instead of digits.
  const letters = initials(participant.displayName);
  if (letters) avatar.textContent = letters;
  else avatar.append(icon(participant.kind === 'phone' ? 'phone' : 'mic'));
  avatar.style.setProperty('--hue', String(hue(participant.id)));
  avatar.setAttribute('aria-hidden', 'true');

  const name = document.createElement('span');
  name.className = 'participant-name';
  name.textContent = participant.displayName;
  if (isSelf) name.append(tag('you', '(you)'));

  const status = document.createElement('span');
  status.className = 'participant-status';
  if (participant.speaking) status.append(speakingBars());
  if (participant.kind === 'phone') status.append(tag('badge badge-phone', 'Phone', 'phone'));
  if (participant.muted) status.append(labelledIcon('mic-off', 'Muted'));

  row.append(avatar, name, status);
  return row;
}

function speakingBars(): HTMLElement {
  const bars = document.createElement('span');
  bars.className = 'speaking';
  bars.setAttribute('role', 'img');
  bars.setAttribute('aria-label', 'Speaking');
  bars.title = 'Speaking';
  bars.append(...[1, 2, 3].map(() => document.createElement('i')));
  return bars;
}

function tag(className: string, label: string, iconName?: string): HTMLElement {
  const span = document.createElement('span');
  span.className = className;
  if (iconName) span.append(icon(iconName));
  span.append(text(label));
  return span;
}

function labelledIcon(name: string, label: string): HTMLElement {
  const span = icon(name);
  span.classList.add('status-icon');
  span.setAttribute('role', 'img');
  span.setAttribute('aria-label', label);
  span.removeAttribute('aria-hidden');
  span.title = label;
  return span;
}

/** Icons are CSS masks (meeting.css), so the markup stays plain spans. */
function icon(name: string): HTMLElement {
  const span = document.createElement('span');
  span.className = `icon icon-${name}`;
  span.setAttribute('aria-hidden', 'true');
  return span;
}

function text(value: string): HTMLSpanElement {
  const span = document.createElement('span');
  span.textContent = value;
  return span;
}

/** First letters of the first and last word that start with a letter; '' when none does. */
function initials(displayName: string): string {
  const words = displayName.split(/\s+/).filter((word) => /^\p{L}/u.test(word));
  const chosen = words.length > 1 ? [words[0]!, words[words.length - 1]!] : words;
  return chosen.map((word) => [...word][0]!.toUpperCase()).join('');
}

/** A stable colour per participant (FNV-1a hash), so avatars are told apart at a glance. */
function hue(participantId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < participantId.length; i++) hash = Math.imul(hash ^ participantId.charCodeAt(i), 0x01000193) >>> 0;
  return hash % 360;
}

function element<T extends HTMLElement>(id: string, type: new () => T): T {
  const found = document.getElementById(id);
  if (!(found instanceof type)) throw new Error(`meeting.html has no ${type.name} #${id}`);
  return found;
}
