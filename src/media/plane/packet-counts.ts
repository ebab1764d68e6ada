/** Phones' packet counts (the media threads' and the plane's totals) added together. */
import type { PhonePacketCounts } from './plane-protocol.js';

export const NO_PACKETS: PhonePacketCounts = { received: 0, sent: 0, lost: 0, late: 0, concealed: 0 };

export function addPacketCounts(a: PhonePacketCounts, b: PhonePacketCounts): PhonePacketCounts {
  return { received: a.received + b.received, sent: a.sent + b.sent, lost: a.lost + b.lost, late: a.late + b.late, concealed: a.concealed + b.concealed };
}
