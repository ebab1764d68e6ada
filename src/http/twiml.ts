/**
 * Each step of a Twilio call as TwiML, built with the twilio package's VoiceResponse.
 * The prompts are spoken with <Say> in the configured voice and language; questions
 * are <Gather>s of DTMF digits ended by "#", posted to the next step's URL even when
 * nothing was typed, so silence counts as a wrong entry instead of ending the call.
 */
import twilio from 'twilio';
import type VoiceResponse from 'twilio/lib/twiml/VoiceResponse.js';
import type { HangUpReason, IvrQuestion, TwilioStep } from '../pstn/twilio-dial-in.js';

export interface TwimlVoice {
  /** Twilio's voice name, e.g. Polly.Joanna. */
  readonly voice: string;
  /** BCP 47, e.g. en-US. */
  readonly language: string;
}

/** Where each question's answer is posted. */
export type AnswerUrl = (question: IvrQuestion, wrongEntries: number) => string;

/** Seconds Twilio waits for the first digit, and between digits before taking what was typed. */
const GATHER_TIMEOUT_SECONDS = 10;

const QUESTIONS: Record<IvrQuestion['kind'], { ask: string; wrong: string }> = {
  'meeting-id': {
    ask: 'Welcome. Please enter your meeting ID, followed by the pound key.',
    wrong: 'That meeting ID was not found. Please enter your meeting ID, followed by the pound key.',
  },
  pin: {
    ask: 'Please enter the meeting PIN, followed by the pound key.',
    wrong: 'That PIN is not correct. Please enter the meeting PIN, followed by the pound key.',
  },
};

const GOODBYES: Record<HangUpReason, string> = {
  'not-connected': 'This number is not connected to a meeting. Goodbye.',
  'meeting-ended': 'This meeting has ended. Goodbye.',
  'too-many-wrong-entries': 'Sorry, that was not correct. Please check your meeting details and call again. Goodbye.',
  'locked-out': 'There have been too many wrong entries from your number. Please try again later. Goodbye.',
};

export function twimlFor(step: TwilioStep, voice: TwimlVoice, answerUrl: AnswerUrl): string {
  const response = new twilio.twiml.VoiceResponse();
  const say = voice as unknown as VoiceResponse.SayAttributes;
  switch (step.kind) {
    case 'ask': {
      const gather = response.gather({
        input: ['dtmf'],
        finishOnKey: '#',
        timeout: GATHER_TIMEOUT_SECONDS,
        actionOnEmptyResult: true,
        method: 'POST',
        action: answerUrl(step.question, step.wrongEntries),
      });
      const prompts = QUESTIONS[step.question.kind];
      gather.say(say, step.wrongEntries === 0 ? prompts.ask : prompts.wrong);
      break;
    }
    case 'dial':
      response.say(say, 'Connecting you to the meeting.');
      response.dial().sip({ username: step.username, password: step.password }, step.sipUri);
      break;
    case 'hang-up':
      response.say(say, GOODBYES[step.reason]);
      response.hangup();
      break;
  }
  return response.toString();
}
