/**
 * Headers our TwiML asks Twilio to put in the INVITE it sends us (URI headers of the
 * <Sip> noun): the SIP side reads what the webhook side wrote.
 */

/** The PSTN caller's number: Twilio's INVITE carries Twilio's own From. */
export const CALLER_NUMBER_HEADER = 'X-Caller-Number';

/**
 * The CallSid the webhook minted the credential for. Twilio's own X-Twilio-CallSid names
 * the leg it dials for <Dial>, a call of its own, so the webhook's call travels beside it.
 */
export const WEBHOOK_CALL_SID_HEADER = 'X-Webhook-CallSid';

/** Twilio sets it on every INVITE it sends. */
export const TWILIO_CALL_SID_HEADER = 'X-Twilio-CallSid';
