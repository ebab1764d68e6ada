/**
 * PSTN numbers that lead straight to a meeting: the number a caller dialed (Twilio's
 * "To") picks the meeting, so the caller is never asked for a meeting id.
 */
import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { MeetingService } from '../meetings/meeting-service.js';
import type { GatewayStore, MeetingRoute } from '../store/store.js';

/** ITU-T E.164 as carriers send it: "+", a country code, at most 15 digits. */
const E164 = /^\+[1-9]\d{6,14}$/;

export interface PhoneNumberAssignment {
  readonly number: string;
  readonly meetingId: string;
  readonly createdAt: number;
}

export class PhoneNumbers {
  constructor(
    private readonly store: GatewayStore,
    private readonly meetings: Pick<MeetingService, 'getJoinable'>,
    private readonly log: Logger,
  ) {}

  /** Points the number at an active meeting, replacing an earlier assignment; `created` tells which. */
  async assign(number: string, meetingId: string): Promise<{ assignment: PhoneNumberAssignment; created: boolean }> {
    checkE164(number);
    await this.meetings.getJoinable(meetingId);
    const created = !(await this.store.getMeetingRoute('phone-number', number));
    const route: MeetingRoute = { kind: 'phone-number', key: number, meetingId, createdAt: Date.now() };
    await this.store.putMeetingRoute(route, 'replace');
    this.log.info({ phoneNumber: number, meetingId }, 'phone number assigned to a meeting');
    return { assignment: assignment(route), created };
  }

  /** not_found when the number leads nowhere. */
  async release(number: string): Promise<void> {
    checkE164(number);
    if (!(await this.store.deleteMeetingRoute('phone-number', number))) {
      throw new GatewayError('not_found', `phone number ${number} is not assigned to a meeting`);
    }
    this.log.info({ phoneNumber: number }, 'phone number released');
  }

  /** In number order. */
  async list(): Promise<PhoneNumberAssignment[]> {
    return (await this.store.listMeetingRoutes('phone-number')).map(assignment).sort((a, b) => a.number.localeCompare(b.number));
  }

  /** The meeting a call to this number goes to; undefined when the number is not assigned. */
  async meetingIdFor(number: string): Promise<string | undefined> {
    return (await this.store.getMeetingRoute('phone-number', number))?.meetingId;
  }
}

function checkE164(number: string): void {
  if (!E164.test(number)) {
    throw new GatewayError('bad_request', `"${number}" is not an E.164 phone number (a "+", the country code and up to 15 digits, like +14155550100)`);
  }
}

function assignment(route: MeetingRoute): PhoneNumberAssignment {
  return { number: route.key, meetingId: route.meetingId, createdAt: route.createdAt };
}
