import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../../src/errors.js';
import { type SipInfoDtmf, parseSipInfoDtmf } from '../../../src/sip/dtmf/sip-info-dtmf.js';
import { UnsupportedMediaTypeError } from '../../../src/sip/dtmf/unsupported-media-type.js';

const RELAY = 'application/dtmf-relay';

describe('parseSipInfoDtmf', () => {
  it.each<[string, string | undefined, string, SipInfoDtmf | undefined]>([
    ['dtmf-relay, the common form (voip-info.org, pjsua)', RELAY, 'Signal=5\r\nDuration=160\r\n', { digit: '5', durationMs: 160 }],
    ['no trailing CRLF', RELAY, 'Signal=5\r\nDuration=160', { digit: '5', durationMs: 160 }],
    ['bare LF line ends', RELAY, 'Signal=5\nDuration=160\n', { digit: '5', durationMs: 160 }],
    ['spaces after = (SIP.js, VegaStream)', RELAY, 'Signal= *\r\nDuration= 100\r\n', { digit: '*', durationMs: 100 }],
    ['spaces around = and the line', RELAY, '  Signal = #  \r\n Duration =250 \r\n', { digit: '#', durationMs: 250 }],
    ['case-insensitive keys', RELAY, 'SIGNAL=1\r\nduration=100', { digit: '1', durationMs: 100 }],
    ['lower-case a-d', RELAY, 'Signal=d\r\nDuration=100', { digit: 'D', durationMs: 100 }],
    ['event code 10 is *', RELAY, 'Signal=10\r\nDuration=100', { digit: '*', durationMs: 100 }],
    ['event code 11 is #', RELAY, 'Signal=11\r\nDuration=100', { digit: '#', durationMs: 100 }],
    ['event code 12 is A', RELAY, 'Signal=12', { digit: 'A' }],
    ['event code 15 is D', RELAY, 'Signal=15', { digit: 'D' }],
    ['no Duration', RELAY, 'Signal=0', { digit: '0' }],
    ['an unreadable Duration is left out', RELAY, 'Signal=0\r\nDuration=abc', { digit: '0' }],
    ['Duration=0 is left out', RELAY, 'Signal=0\r\nDuration=0', { digit: '0' }],
    ['other lines are ignored', RELAY, 'Signal=9\r\nDuration=160\r\nVolume=10\r\n', { digit: '9', durationMs: 160 }],
    ['Content-Type parameters and case', 'Application/DTMF-Relay; charset=utf-8', 'Signal=2', { digit: '2' }],
    ['hook flash by event code: valid, not a digit', RELAY, 'Signal=16\r\nDuration=100', undefined],
    ['hook flash as ! (Asterisk)', RELAY, 'Signal=!', undefined],
    ['application/dtmf: the key', 'application/dtmf', '5', { digit: '5' }],
    ['application/dtmf: the key and a line end', 'application/dtmf', '#\r\n', { digit: '#' }],
    ['application/dtmf: an event code', 'application/dtmf', '11', { digit: '#' }],
    ['an empty body carries nothing (answered 200)', RELAY, '', undefined],
    ['an empty body of any type, or none', undefined, '\r\n', undefined],
  ])('%s', (_name, contentType, body, expected) => {
    expect(parseSipInfoDtmf(contentType, body)).toEqual(expected);
  });

  it.each<[string, string | undefined, string, RegExp]>([
    ['no Signal', RELAY, 'Duration=160', /no Signal/],
    ['two Signals', RELAY, 'Signal=1\r\nSignal=2', /repeats signal/],
    ['an empty Signal', RELAY, 'Signal=\r\nDuration=160', /not a DTMF signal/],
    ['not a key', RELAY, 'Signal=X', /not a DTMF signal: "X"/],
    ['two keys', RELAY, 'Signal=12#', /not a DTMF signal/],
    ['an event code above 16', RELAY, 'Signal=17', /not a DTMF signal: "17"/],
    ['a negative event code', RELAY, 'Signal=-1', /not a DTMF signal/],
    ['application/dtmf with a dtmf-relay body', 'application/dtmf', 'Signal=5', /not a DTMF signal/],
    ['a body without Content-Type', undefined, 'Signal=5', /no Content-Type/],
    ['an oversized body', RELAY, `Signal=5\r\n${'x'.repeat(600)}`, /over 512 bytes/],
  ])('refuses %s with 400', (_name, contentType, body, reason) => {
    const error = catchError(() => parseSipInfoDtmf(contentType, body));
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).not.toBeInstanceOf(UnsupportedMediaTypeError);
    expect(error).toMatchObject({ code: 'bad_request', sipStatus: 400, message: expect.stringMatching(reason) });
  });

  it.each(['application/sdp', 'text/plain', 'application/dtmf-relay-x', 'application/media_control+xml'])('answers a %s body with 415 and what it accepts', (contentType) => {
    const error = catchError(() => parseSipInfoDtmf(contentType, 'x'));
    expect(error).toBeInstanceOf(UnsupportedMediaTypeError);
    expect(error).toBeInstanceOf(GatewayError);
    expect(error).toMatchObject({ sipStatus: 415, httpStatus: 415 });
    expect((error as UnsupportedMediaTypeError).acceptHeader()).toBe('application/dtmf-relay, application/dtmf');
  });
});

function catchError(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}
