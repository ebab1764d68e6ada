/**
 * Twilio's webhooks: POST /twilio/voice when a call arrives, the IVR's answers, and
 * POST /twilio/status with the call's progress. Every request is signature-checked
 * before anything else looks at it; each answer is the call's next step as TwiML.
 * The IVR's state (which question, how many wrong entries) travels in the answer URLs,
 * which Twilio's signature covers, so a caller cannot alter it.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { Logger } from '../logger.js';
import { MEETING_ID_PATTERN } from '../meetings/meeting-id.js';
import type { TwilioCall, TwilioDialIn, TwilioStep } from '../pstn/twilio-dial-in.js';
import { acceptFormBodies } from './form-body.js';
import { errorView } from './schemas.js';
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
  CallSid: { type: 'string', pattern: '^CA[0-9A-Za-z]{1,64}$' },
  From: { type: 'string', maxLength: 128 },
  To: { type: 'string', maxLength: 128 },
} as const;

const callBody = { type: 'object', required: ['CallSid', 'From', 'To'], properties: callFields } as const;

/** DTMF has 16 keys; Twilio drops the finishing "#". Absent or empty: nothing was typed. */
const answerBody = { ...callBody, properties: { ...callFields, Digits: { type: 'string', pattern: '^[0-9A-D*#]{0,64}$' } } } as const;

const wrongEntries = { type: 'string', pattern: '^[0-9]$' } as const;

const statusBody = {
  type: 'object',
  required: ['CallSid', 'CallStatus'],
  properties: {
    CallSid: callFields.CallSid,
    CallStatus: { type: 'string', pattern: '^[a-z-]{1,32}$' },
    CallDuration: { type: 'string', pattern: '^[0-9]{1,9}$' },
  },
} as const;

interface CallBody {
  CallSid: string;
  From: string;
  To: string;
  Digits?: string;
}

export const twilioRoutes: FastifyPluginAsync<TwilioRouteOptions> = async (app, options) => {
  const { dialIn, publicUrl, voice } = options;
  acceptFormBodies(app, TWILIO_FORM_LIMIT_BYTES);
  app.addHook('preValidation', twilioSignatureCheck(options, options.log));

  const answerUrl: AnswerUrl = (question, wrong) =>
    question.kind === 'meeting-id'
      ? `${publicUrl}/twilio/voice/meeting-id?wrong=${wrong}`
      : `${publicUrl}/twilio/voice/pin?meeting=${encodeURIComponent(question.meetingId)}&wrong=${wrong}`;
  const twiml = (reply: FastifyReply, step: TwilioStep) => reply.type('text/xml; charset=utf-8').send(twimlFor(step, voice, answerUrl));
  const callOf = (body: CallBody): TwilioCall => ({ callSid: body.CallSid, from: body.From, to: body.To });
  const errors = { '4xx': errorView, '5xx': errorView };

  app.post<{ Body: CallBody }>('/twilio/voice', { schema: { body: callBody, response: errors } }, async (request, reply) =>
    twiml(reply, await dialIn.callArrived(callOf(request.body))),
  );

  app.post<{ Body: CallBody; Querystring: { wrong: string } }>(
    '/twilio/voice/meeting-id',
    { schema: { body: answerBody, querystring: { type: 'object', required: ['wrong'], properties: { wrong: wrongEntries } }, response: errors } },
    async (request, reply) =>
      twiml(reply, await dialIn.meetingIdEntered(callOf(request.body), request.body.Digits ?? '', Number(request.query.wrong))),
  );

  app.post<{ Body: CallBody; Querystring: { meeting: string; wrong: string } }>(
    '/twilio/voice/pin',
    {
      schema: {
        body: answerBody,
        querystring: {
          type: 'object',
          required: ['meeting', 'wrong'],
          properties: { meeting: { type: 'string', pattern: MEETING_ID_PATTERN.source }, wrong: wrongEntries },
        },
        response: errors,
      },
    },
    async (request, reply) =>
      twiml(reply, await dialIn.pinEntered(callOf(request.body), request.query.meeting, request.body.Digits ?? '', Number(request.query.wrong))),
  );

  app.post<{ Body: { CallSid: string; CallStatus: string; CallDuration?: string } }>(
    '/twilio/status',
    { schema: { body: statusBody, response: errors } },
    async (request, reply) => {
      const { CallSid, CallStatus, CallDuration } = request.body;
      await dialIn.statusChanged(CallSid, CallStatus, CallDuration === undefined ? undefined : Number(CallDuration));
      return reply.code(204).send();
    },
  );
};
