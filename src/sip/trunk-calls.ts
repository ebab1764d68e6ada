/**
 * Calls a trunk sends us. An INVITE is the trunk's when it comes from the trunk host's
 * address (the usual carrier rule: a carrier does not answer our digest challenges, so the
 * trunk's address is its authentication, as Twilio's SIP_TRUSTED_SOURCES are not). The
 * dialled number is the Request-URI's user, or, when a registering trunk sends the call to
 * the Contact we registered (its user is the trunk's username or id), the To header's user.
 * The meeting is the one the number is assigned to (`/api/phone-numbers`; a number without
 * "+" is also tried with one), else the one whose id is the number.
 */
import type { PhoneNumbers } from '../pstn/phone-numbers.js';
import type { Trunks } from '../pstn/trunks.js';
import { meetingIdOf } from './dial-in.js';
import type { SipRequest } from './srf.js';

export interface TrunkCall {
  readonly trunk: string;
  readonly meetingId: string;
}

export interface TrunkCallDeps {
  readonly trunks: Pick<Trunks, 'fromSource'>;
  readonly phoneNumbers: Pick<PhoneNumbers, 'meetingIdFor'>;
}

/** The trunk an INVITE comes from and the meeting its number reaches; undefined when it comes from no trunk. */
export async function trunkCall(deps: TrunkCallDeps, request: SipRequest): Promise<TrunkCall | undefined> {
  const trunk = await deps.trunks.fromSource(request.source_address);
  if (!trunk) return undefined;
  const user = meetingIdOf(request.uri);
  const toOurContact = trunk.register !== undefined && user === (trunk.username ?? trunk.id);
  const dialled = toOurContact ? meetingIdOf(request.getParsedHeader('to').uri) : user;
  return { trunk: trunk.id, meetingId: (await assignedMeeting(deps, dialled)) ?? dialled };
}

async function assignedMeeting(deps: TrunkCallDeps, number: string): Promise<string | undefined> {
  const assigned = await deps.phoneNumbers.meetingIdFor(number);
  if (assigned !== undefined || !/^\d+$/.test(number)) return assigned;
  return deps.phoneNumbers.meetingIdFor(`+${number}`);
}
