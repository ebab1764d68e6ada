/**
 * TwilioDialIn over a memory store: a meeting that does not exist is the caller's answer,
 * a store that fails is not, and is logged with the call.
 */
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../../src/errors.js';
import { CallerLockout } from '../../src/pstn/caller-lockout.js';
import { PhoneNumbers } from '../../src/pstn/phone-numbers.js';
import { TwilioDialIn } from '../../src/pstn/twilio-dial-in.js';
import { memoryApp } from '../support/app.js';
import { capturedLogger } from '../support/log-capture.js';
import { StoreLosingMeetings } from '../support/store-faults.js';

const PIN = '58204613';
const MAPPED_NUMBER = '+14155550100';
const capture = capturedLogger();
const store = new StoreLosingMeetings();
const { meetings, deps } = memoryApp({ TWILIO_AUTH_TOKEN: 'twilio-auth-token-0123456789' }, capture.log, store);
const dialIn = deps.twilioDialIn;
let callCounter = 0;

const newCall = (to = MAPPED_NUMBER) => ({ callSid: `CA${(++callCounter).toString(16).padStart(32, '0')}`, from: '+15005550006', to });
const errorLines = () => capture.lines().filter((line) => (line.level as number) >= 50);

beforeAll(async () => {
  await meetings.create({ id: 'pin-room', pin: PIN });
  await deps.phoneNumbers.assign(MAPPED_NUMBER, 'pin-room');
});

beforeEach(() => {
  store.failing = false;
});

describe('a meeting that does not exist', () => {
  it('ends a call whose PIN answer names it as meeting-ended, and logs no error', async () => {
    const call = newCall();
    expect(await dialIn.pinEntered(call, 'no-such-meeting', '1234', 0)).toEqual({ kind: 'hang-up', reason: 'meeting-ended' });
    expect((await dialIn.recentCalls(1))[0]).toMatchObject({ callSid: call.callSid, outcome: 'meeting-ended', meetingId: 'no-such-meeting' });
    expect(errorLines()).toEqual([]);
  });
});

describe('a store that fails while the meeting is looked up', () => {
  /** Runs the step with meeting reads failing; asserts it is refused as unavailable and logged once with the call. */
  async function expectUnavailableAndLogged(call: ReturnType<typeof newCall>, step: () => Promise<unknown>): Promise<void> {
    store.failing = true;
    const before = capture.lines().length;
    const answered = step();
    await expect(answered).rejects.toBeInstanceOf(GatewayError);
    await expect(answered).rejects.toMatchObject({ code: 'unavailable', message: 'the meeting cannot be looked up right now' });

    const logged = capture.lines().slice(before);
    expect(logged.filter((line) => (line.level as number) >= 50)).toEqual([
      expect.objectContaining({
        msg: 'meeting lookup failed; the Twilio call cannot be connected',
        callSid: call.callSid,
        meetingId: 'pin-room',
        err: expect.objectContaining({ type: 'Error', message: 'Connection is closed.', stack: expect.stringContaining('getMeeting') }),
      }),
    ]);
    expect(logged.filter((line) => line.msg === 'Twilio call turned away')).toEqual([]);
    expect(capture.text()).not.toContain(PIN);
  }

  it('refuses an arriving call to a mapped number as unavailable, not "not connected", and logs it with the callSid', async () => {
    const call = newCall();
    await expectUnavailableAndLogged(call, () => dialIn.callArrived(call));
    const recorded = (await dialIn.recentCalls(10)).find((record) => record.callSid === call.callSid);
    expect(recorded).toMatchObject({ from: call.from, to: call.to });
    expect(recorded?.outcome).toBeUndefined();
  });

  it('refuses a PIN answer as unavailable, not "meeting ended", and logs it with the callSid', async () => {
    const call = newCall();
    expect(await dialIn.callArrived(call)).toMatchObject({ kind: 'ask', question: { kind: 'pin', meetingId: 'pin-room' } });
    await expectUnavailableAndLogged(call, () => dialIn.pinEntered(call, 'pin-room', PIN, 0));
    expect((await dialIn.recentCalls(10)).find((record) => record.callSid === call.callSid)?.outcome).toBeUndefined();
  });
});

describe('a meeting another node hosts', () => {
  it('is dialled at that node\'s SIP address, with the same single-use credential and headers', async () => {
    const { store: ownStore, meetings: ownMeetings, sipCredentials } = memoryApp({}, capture.log);
    const phoneNumbers = new PhoneNumbers(ownStore, ownMeetings, capture.log);
    await ownMeetings.create({ id: 'hosted-elsewhere' });
    await phoneNumbers.assign(MAPPED_NUMBER, 'hosted-elsewhere');
    const elsewhere = new TwilioDialIn(
      {
        meetings: ownMeetings,
        phoneNumbers,
        credentials: sipCredentials,
        lockout: new CallerLockout(ownStore),
        store: ownStore,
        log: capture.log,
        ownerElsewhere: async (meetingId) => (meetingId === 'hosted-elsewhere' ? 'sip:10.0.0.5:5070' : undefined),
      },
      { ivr: true },
    );
    const step = await elsewhere.callArrived(newCall());
    expect(step).toMatchObject({ kind: 'dial', sipUri: expect.stringMatching(/^sip:hosted-elsewhere@10\.0\.0\.5:5070\?X-Webhook-CallSid=CA/) });
  });
});
