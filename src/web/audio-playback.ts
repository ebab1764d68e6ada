/**
 * Plays each remote participant's audio in its own <audio> element. The element is also
 * what makes Chromium decode the track for WebAudio (the tone meter), so it is attached
 * even while the browser refuses to play sound: then it plays muted until the user
 * allows sound with a click (autoplay policy, e.g. after an automatic ?name= join).
 */
export class AudioPlayback {
  private readonly elements = new Map<string, HTMLAudioElement>();
  private blocked = false;

  /** @param onBlocked called when the browser refuses sound until the user interacts */
  constructor(
    private readonly container: HTMLElement,
    private readonly onBlocked: () => void,
  ) {}

  play(participantId: string, stream: MediaStream): void {
    this.stop(participantId);
    const element = document.createElement('audio');
    element.autoplay = true;
    element.dataset.participantId = participantId;
    element.srcObject = stream;
    element.muted = this.blocked;
    this.container.append(element);
    this.elements.set(participantId, element);
    element.play().catch((error: unknown) => this.playRefused(element, error));
  }

  stop(participantId: string): void {
    const element = this.elements.get(participantId);
    if (!element) return;
    element.srcObject = null;
    element.remove();
    this.elements.delete(participantId);
  }

  stopAll(): void {
    for (const participantId of [...this.elements.keys()]) this.stop(participantId);
  }

  /** Call from a user gesture (a click) to turn sound on after onBlocked. */
  async allowSound(): Promise<void> {
    this.blocked = false;
    for (const element of this.elements.values()) {
      element.muted = false;
      await element.play();
    }
  }

  private playRefused(element: HTMLAudioElement, error: unknown): void {
    if (!(error instanceof DOMException && error.name === 'NotAllowedError')) {
      console.warn('audio playback failed', error);
      return;
    }
    // Muted playback is always allowed and keeps the track flowing.
    element.muted = true;
    element.play().catch((mutedError: unknown) => console.warn('muted audio playback failed', mutedError));
    if (!this.blocked) {
      this.blocked = true;
      this.onBlocked();
    }
  }
}
