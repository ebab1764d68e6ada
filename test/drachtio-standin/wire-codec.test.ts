/** Unit tests of the admin wire protocol codec: framing across and within TCP reads, and header-line fields. */
import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder, formatWireMessage, parseWireMessage, WireFrameError } from '../../src/drachtio-standin/wire-codec.js';
import { event, loadRecording } from '../support/sip/recordings.js';

const AUTH = '56#b355d402-5d19-492c-ab5a-4dbb7b6be6fb|authenticate|cymru|';
const ROUTE = '50#9f789a44-2e61-43ca-b6d0-7b5d69fa0d55|route|options';

describe('wire framing', () => {
  it.each([
    { name: 'one frame in one read', reads: [AUTH], frames: [AUTH.slice(3)] },
    { name: 'two frames in one read', reads: [AUTH + ROUTE], frames: [AUTH.slice(3), ROUTE.slice(3)] },
    { name: 'split inside the length prefix', reads: ['5', AUTH.slice(1)], frames: [AUTH.slice(3)] },
    { name: 'split right after #', reads: ['56#', AUTH.slice(3)], frames: [AUTH.slice(3)] },
    { name: 'split inside the body', reads: [AUTH.slice(0, 20), AUTH.slice(20)], frames: [AUTH.slice(3)] },
    { name: 'one byte at a time', reads: [...(AUTH + ROUTE)], frames: [AUTH.slice(3), ROUTE.slice(3)] },
    { name: 'frame then part of the next', reads: [AUTH + ROUTE.slice(0, 10), ROUTE.slice(10)], frames: [AUTH.slice(3), ROUTE.slice(3)] },
  ])('$name', ({ reads, frames }) => {
    const decoder = new FrameDecoder();
    const out = reads.flatMap((read) => decoder.push(Buffer.from(read, 'utf8')));
    expect(out).toEqual(frames);
  });

  it('counts bytes, not characters, and survives a multi-byte character split across reads', () => {
    const body = 'id|sip|x|\r\nINFO sip:x SIP/2.0\r\nSubject: caf\u00e9 \u{1F600}\r\n\r\n';
    const frame = encodeFrame(body);
    expect(frame.toString('ascii', 0, frame.indexOf('#'))).toBe(String(Buffer.byteLength(body)));
    const decoder = new FrameDecoder();
    const cut = frame.indexOf(0xf0) + 2;
    expect([...decoder.push(frame.subarray(0, cut)), ...decoder.push(frame.subarray(cut))]).toEqual([body]);
  });

  it('reproduces every recorded frame length prefix', () => {
    for (const name of ['02-options', '03-invite-auth-answer-bye-by-caller', '13-cdr-events']) {
      const recording = loadRecording(name);
      for (const e of recording.events.filter((x) => x.kind === 'wire')) {
        const body = e.text!.slice(e.text!.indexOf('#') + 1);
        expect(encodeFrame(body).toString('utf8'), `${name} ${e.id}`).toBe(e.text);
      }
    }
  });

  it.each([
    { name: 'letters before #', data: 'ab#x' },
    { name: 'no length before #', data: '#x' },
    { name: 'zero length', data: '0#' },
    { name: 'endless length prefix', data: '1234567890123' },
  ])('rejects $name', ({ data }) => {
    expect(() => new FrameDecoder().push(Buffer.from(data))).toThrow(WireFrameError);
  });
});

describe('wire header lines', () => {
  it.each([
    {
      body: 'b355d402-5d19-492c-ab5a-4dbb7b6be6fb|authenticate|cymru|',
      id: 'b355d402-5d19-492c-ab5a-4dbb7b6be6fb',
      type: 'authenticate',
      args: ['cymru', ''],
      sip: undefined,
    },
    { body: 'x|route|options', id: 'x', type: 'route', args: ['options'], sip: undefined },
    { body: 'x|sip||d;from-tag=a\r\nBYE sip:placeholder SIP/2.0\r\n\r\n', id: 'x', type: 'sip', args: ['', 'd;from-tag=a'], sip: 'BYE sip:placeholder SIP/2.0\r\n\r\n' },
    { body: 'x|sip|t|\r\nSIP/2.0 200 OK\r\n\r\n', id: 'x', type: 'sip', args: ['t', ''], sip: 'SIP/2.0 200 OK\r\n\r\n' },
  ])('parses $type', ({ body, id, type, args, sip }) => {
    expect(parseWireMessage(body)).toEqual({ id, type, args, sip });
  });

  it('keeps empty fields and trailing pipes when formatting, as drachtio-server lays them out', () => {
    const recorded = event(loadRecording('02-options'), 'W1').text!;
    const body = recorded.slice(recorded.indexOf('#') + 1);
    const parsed = parseWireMessage(body);
    expect(formatWireMessage([parsed.id, parsed.type, ...parsed.args], parsed.sip)).toBe(body);
  });
});
