/** What the page tells the user when the signaling socket closes, by close code. */
import { CloseCode } from '../signaling/protocol.js';
import type { NoticeText } from './ui.js';

export interface ClosedNotice extends NoticeText {
  /** Whether trying again can help (not for a meeting that does not exist or has ended). */
  readonly canRetry: boolean;
}

/** The socket never opened or dropped without a close frame (server down, network gone). */
const ABNORMAL_CLOSURE = 1006;

/**
 * @param serverReason the reason from a meetingEnded, serverClosing or removed notification, when one came first
 * @param opened whether the socket had opened (a refused connection reads differently)
 */
export function closedNotice(code: number, opened: boolean, serverReason?: string): ClosedNotice {
  switch (code) {
    case CloseCode.notFound:
      return { title: 'This meeting does not exist.', detail: 'Check the link you were given.', canRetry: false };
    case CloseCode.gone:
      return { title: 'This meeting has ended.', detail: serverReason ?? 'The host ended the meeting.', canRetry: false };
    case CloseCode.forbidden:
      // The server sends a removed notice (the serverReason) before it closes with 4403.
      return serverReason
        ? { title: 'You were removed from the meeting.', detail: serverReason, canRetry: true }
        : { title: 'You are not allowed in this meeting.', detail: 'The meeting server refused the connection.', canRetry: false };
    case CloseCode.redirect:
      return { title: 'This meeting is hosted on another server.', detail: 'Taking you there…', canRetry: false };
    case CloseCode.full:
      return { title: 'This meeting is full.', detail: 'Try again when someone has left.', canRetry: true };
    case CloseCode.badRequest:
      return { title: 'The meeting server could not understand this page.', detail: 'Reload the page to get the latest version.', canRetry: true };
    case CloseCode.serverError:
      return { title: 'The meeting server ran into a problem.', detail: 'Try again in a moment.', canRetry: true };
    case CloseCode.goingAway:
      return { title: 'The meeting server is restarting.', detail: serverReason ?? 'Rejoin to continue the meeting.', canRetry: true };
    case CloseCode.normal:
      return { title: 'You are no longer in the meeting.', detail: 'The server closed the connection.', canRetry: true };
    case ABNORMAL_CLOSURE:
      return opened
        ? { title: 'The connection to the meeting was lost.', detail: 'Check your network and rejoin.', canRetry: true }
        : { title: 'Could not reach the meeting server.', detail: 'Check your network and try again.', canRetry: true };
    default:
      return { title: 'The connection to the meeting closed.', detail: `Close code ${code}.`, canRetry: true };
  }
}
