import { describe, expect, it } from 'vitest';
import { closeCodeFor } from '../../src/signaling/close-codes.js';
import { CloseCode } from '../../src/signaling/protocol.js';
import { closedNotice } from '../../src/web/close-reasons.js';

describe('what the page says when the server closes the socket', () => {
  it('a draining server closes with 1001 and the page says it restarts, with the reason the server gave, and offers to rejoin', () => {
    expect(closeCodeFor('draining')).toBe(CloseCode.goingAway);
    expect(closedNotice(CloseCode.goingAway, true, 'this meeting server is restarting; rejoin to continue')).toEqual({
      title: 'The meeting server is restarting.',
      detail: 'this meeting server is restarting; rejoin to continue',
      canRetry: true,
    });
  });

  it('a server going away without a notice still reads as a restart', () => {
    expect(closedNotice(CloseCode.goingAway, true)).toEqual({ title: 'The meeting server is restarting.', detail: 'Rejoin to continue the meeting.', canRetry: true });
  });
});
