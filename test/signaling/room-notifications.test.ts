import { describe, expect, it } from 'vitest';
import type { RoomNotice } from '../../src/media/room-notices.js';
import type { Notification } from '../../src/signaling/protocol.js';
import { notificationFor } from '../../src/signaling/room-notifications.js';

const ada = { id: 'p-1', displayName: 'Ada', kind: 'phone', muted: true, speaking: false } as const;

describe('notificationFor', () => {
  it.each<[RoomNotice, Notification]>([
    [{ kind: 'member-joined', member: ada }, { v: 1, notification: 'participantJoined', data: { participant: ada } }],
    [{ kind: 'member-changed', member: ada }, { v: 1, notification: 'participantUpdated', data: { participant: ada } }],
    [{ kind: 'member-left', memberId: 'p-1' }, { v: 1, notification: 'participantLeft', data: { participantId: 'p-1' } }],
    [
      { kind: 'producer-opened', producer: { producerId: 'pr-1', memberId: 'p-1' } },
      { v: 1, notification: 'producerAdded', data: { producerId: 'pr-1', participantId: 'p-1' } },
    ],
    [{ kind: 'consumer-closed', consumerId: 'c-1' }, { v: 1, notification: 'consumerClosed', data: { consumerId: 'c-1' } }],
    [{ kind: 'speakers-changed', memberIds: ['p-1', 'p-2'] }, { v: 1, notification: 'speakers', data: { participantIds: ['p-1', 'p-2'] } }],
    [{ kind: 'speakers-changed', memberIds: [] }, { v: 1, notification: 'speakers', data: { participantIds: [] } }],
    [{ kind: 'digit-pressed', memberId: 'p-1', digit: '#' }, { v: 1, notification: 'dtmf', data: { participantId: 'p-1', digit: '#' } }],
  ])('maps %j to its protocol notification', (notice, expected) => {
    expect(notificationFor(notice)).toEqual(expected);
  });
});
