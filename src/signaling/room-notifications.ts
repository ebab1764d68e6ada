/** The room's notices (media terms) as protocol notifications (wire terms). */
import type { ProducerOwnership, RoomNotice } from '../media/room-notices.js';
import { type Notification, type NotificationName, type Notifications, PROTOCOL_VERSION, type ProducerView } from './protocol.js';

export function notificationFor(notice: RoomNotice): Notification {
  switch (notice.kind) {
    case 'member-joined':
      return notification('participantJoined', { participant: notice.member });
    case 'member-changed':
      return notification('participantUpdated', { participant: notice.member });
    case 'member-left':
      return notification('participantLeft', { participantId: notice.memberId });
    case 'producer-opened':
      return notification('producerAdded', producerView(notice.producer));
    case 'consumer-closed':
      return notification('consumerClosed', { consumerId: notice.consumerId });
    case 'speakers-changed':
      return notification('speakers', { participantIds: [...notice.memberIds] });
    case 'digit-pressed':
      return notification('dtmf', { participantId: notice.memberId, digit: notice.digit });
    default: {
      const unreachable: never = notice;
      throw new Error(`no notification for room notice ${JSON.stringify(unreachable)}`);
    }
  }
}

export function producerView({ producerId, memberId }: ProducerOwnership): ProducerView {
  return { producerId, participantId: memberId };
}

export function notification<N extends NotificationName>(name: N, data: Notifications[N]): Notification<N> {
  return { v: PROTOCOL_VERSION, notification: name, data };
}
