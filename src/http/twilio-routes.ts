/**
 * Twilio's webhooks: POST /twilio/voice when a call arrives, the IVR's answers, and
 * POST /twilio/status with the call's progress. Every request is signature-checked
 * before anything else looks at it; each answer is the call's next step as TwiML.
 * The IVR's state (which question, how many wrong entries) travels in the answer URLs,
 * which Twilio's signature covers, so a caller cannot alter it.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { type Static, Type } from 'typebox';
import type { Logger } from '../logger.js';
import { MEETING_ID_PATTERN } from '../meetings/meeting-id.js';
import type { TwilioCall, TwilioDialIn, TwilioStep } from '../pstn/twilio-dial-in.js';
import { acceptFormBodies } from './form-body.js';
import { documentGuard, errorAnswer } from './schemas.js';
import { twilioSignatureCheck } from './twilio-signature.js';
import { type AnswerUrl, type TwimlVoice, twimlFor } from './twiml.js';

/** Twilio's webhook bodies are a few kilobytes. */
export const TWILIO_FORM_LIMIT_BYTES = 16 * 1024;

export interface TwilioRouteOptions {
  readonly dialIn: TwilioDialIn;
  /** Unset: the webhooks answer 503. */
  readonly authToken: string | undefined;
  readonly publicUrl: string;
  readonly voice: TwimlVoice;
  readonly log: Logger;
}

const callFields = {
  CallSid: Type.String({ pattern: '^CA[0-9A-Za-z]{1,64}$' }),
  From: Type.String({ maxLength: 128 }),
  To: Type.String({ maxLength: 128 }),
};

const callBody = Type.Object(callFields);

/** DTMF has 16 keys; Twilio drops the finishing "#". Absent or empty: nothing was typed. */
const answerBody = Type.Object({ ...callFields, Digits: Type.Optional(Type.String({ pattern: '^[0-9A-D*#]{0,64}$' })) });

const wrongEntries = Type.String({ pattern: '^[0-9]$', description: 'wrong entries so far' });

const statusBody = Type.Object({
  CallSid: callFields.CallSid,
  CallStatus: Type.String({ pattern: '^[a-z-]{1,32}$' }),
  CallDuration: Type.Optional(Type.String({ pattern: '^[0-9]{1,9}$' })),
});

/** What a webhook answers besides its TwiML or 204 (the signature check's refusals are documented by its onRoute hook). */
const webhookErrors = {
  400: errorAnswer('the form is malformed, too large or misses a field Twilio always sends'),
  415: errorAnswer('the body is not application/x-www-form-urlencoded'),
};

const twimlAnswer = { description: "TwiML: the call's next step", content: { 'text/xml': { schema: Type.String() } } };

/** What every webhook's schema says: Twilio posts forms. */
const webhook = { tags: ['Twilio webhooks'], consumes: ['application/x-www-form-urlencoded'] };

export const twilioRoutes: FastifyPluginAsyncTypebox<TwilioRouteOptions> = async (app, options) => {
  const { dialIn, publicUrl, voice } = options;
  acceptFormBodies(app, TWILIO_FORM_LIMIT_BYTES);
  app.addHook(
    'onRoute',
    documentGuard('twilioSignature', {
      403: errorAnswer('X-Twilio-Signature is missing or does not match the request (PUBLIC_URL must be the base URL Twilio calls)'),
      503: errorAnswer('TWILIO_AUTH_TOKEN is not set (or the store cannot be reached)'),
    }),
  );
  app.addHook('preValidation', twilioSignatureCheck(options, options.log));

  const answerUrl: AnswerUrl = (question, wrong) =>
    question.kind === 'meeting-id'
      ? `${publicUrl}/twilio/voice/meeting-id?wrong=${wrong}`
      : `${publicUrl}/twilio/voice/pin?meeting=${encodeURIComponent(question.meetingId)}&wrong=${wrong}`;
  const twiml = (reply: FastifyReply, step: TwilioStep) => reply.type('text/xml; charset=utf-8').send(twimlFor(step, voice, answerUrl));
  const callOf = (body: Static<typeof callBody>): TwilioCall => ({ callSid: body.CallSid, from: body.From, to: body.To });

  app.post(
    '/twilio/voice',
    { schema: { ...webhook, summary: "Twilio's voice webhook: a call arrives", body: callBody, response: { 200: twimlAnswer, ...webhookErrors } } },
    async (request, reply) => twiml(reply, await dialIn.callArrived(callOf(request.body))),
  );

  app.post(
    '/twilio/voice/meeting-id',
    {
      schema: {
        ...webhook,
        summary: "The IVR's answer: the meeting ID the caller typed",
        body: answerBody,
        querystring: Type.Object({ wrong: wrongEntries }),
        response: { 200: twimlAnswer, ...webhookErrors },
      },
    },
    async (request, reply) =>
      twiml(reply, await dialIn.meetingIdEntered(callOf(request.body), request.body.Digits ?? '', Number(request.query.wrong))),
  );

  app.post(
    '/twilio/voice/pin',
    {
      schema: {
        ...webhook,
        summary: "The IVR's answer: the meeting PIN the caller typed",
        body: answerBody,
        querystring: Type.Object({ meeting: Type.String({ pattern: MEETING_ID_PATTERN.source }), wrong: wrongEntries }),
        response: { 200: twimlAnswer, ...webhookErrors },
      },
    },
    async (request, reply) =>
      twiml(reply, await dialIn.pinEntered(callOf(request.body), request.query.meeting, request.body.Digits ?? '', Number(request.query.wrong))),
  );

  app.post(
    '/twilio/status',
    {
      schema: {
        ...webhook,
        summary: "Twilio's status callback: the call's progress",
        body: statusBody,
        response: { 204: Type.Null({ description: 'recorded for GET /api/twilio/calls' }), ...webhookErrors },
      },
    },
    async (request, reply) => {
      const { CallSid, CallStatus, CallDuration } = request.body;
      await dialIn.statusChanged(CallSid, CallStatus, CallDuration === undefined ? undefined : Number(CallDuration));
      return reply.code(204).send(null);
    },
  );
};
