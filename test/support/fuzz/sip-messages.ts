/**
 * Generated SIP messages for the fuzz tests: a valid message of a kind the gateway meets
 * (OPTIONS, INVITE, REGISTER, BYE, CANCEL, ACK, INFO, UPDATE, a response), mutated the way
 * broken and hostile peers mutate them: the start line, header names and values (huge and
 * negative numbers, NULs and other control characters, bad UTF-8, 64 KiB+ values), folding,
 * missing and repeated headers, Content-Length lies, line endings, and raw bytes.
 *
 * A case is a template: the sender's address, the target, a Call-ID and a branch unique to
 * each send are filled in by renderSipCase. What a peer must get back is decided from the
 * mutations and the bytes sent (expectedSipAnswer), never from the stand-in's own parser.
 */
import fc from 'fast-check';
import { anyText, badUtf8, controlText, hugeLength, numberText } from './hostile-values.js';

type Part = string | Uint8Array;

interface Header {
  readonly name: Part;
  readonly value: Part;
}

interface SipDraft {
  /** The base message's method, or 'response'. */
  readonly base: string;
  readonly startLine: Part;
  readonly headers: readonly Header[];
  readonly body: Part;
  /** 'exact': the body's length; 'none': no Content-Length; else written as given. */
  readonly contentLength: 'exact' | 'none' | string;
  readonly lineEnd: string;
}

export interface SipFuzzCase {
  readonly draft: SipDraft;
  /** What was done to the base message, for failure reports. */
  readonly mutations: readonly string[];
  /** Raw edits on the rendered bytes: [where (0..1 of the length), what]. */
  readonly byteEdits: ReadonlyArray<readonly [number, 'insert' | 'overwrite' | 'truncate', Uint8Array]>;
}

export interface SipSender {
  readonly transport: 'udp' | 'tcp';
  /** host:port of the sending socket. */
  readonly hostport: string;
  /** host:port of the gateway's SIP edge. */
  readonly target: string;
  /** Unique per send: Call-ID and branch are made from it. */
  readonly id: string;
}

/** The largest message the SIP edge takes (a UDP datagram's payload is a little less: such cases go over TCP). */
export const MAX_SIP_MESSAGE_BYTES = 65_536;

/** The meeting the generated requests dial. */
export const FUZZ_MEETING = 'fuzz-room';

/** Header names whose mutation may change who a request is or whether it can be answered. */
const IDENTITY = new Set(['via', 'v', 'from', 'f', 'to', 't', 'call-id', 'i', 'cseq', 'content-length', 'l']);

const SDP_OFFER =
  'v=0\r\no=fuzz 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n' +
  'm=audio 40000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n';

const METHODS = ['OPTIONS', 'INVITE', 'REGISTER', 'BYE', 'CANCEL', 'ACK', 'INFO', 'UPDATE', 'SUBSCRIBE', 'MESSAGE'] as const;

function baseDraft(base: (typeof METHODS)[number] | 'response'): SipDraft {
  const uri = `sip:${FUZZ_MEETING}@@@TARGET@@`;
  const method = base === 'response' ? 'INVITE' : base;
  const headers: Header[] = [
    { name: 'Via', value: 'SIP/2.0/@@TRANSPORT@@ @@HOST@@;rport;branch=z9hG4bK@@ID@@' },
    { name: 'Max-Forwards', value: '70' },
    { name: 'From', value: '"Fuzz" <sip:fuzzer@@@HOST@@>;tag=f@@ID@@' },
    { name: 'To', value: `<${uri}>${base === 'response' || base === 'BYE' || base === 'INFO' || base === 'UPDATE' ? ';tag=t@@ID@@' : ''}` },
    { name: 'Call-ID', value: '@@ID@@@fuzz' },
    { name: 'CSeq', value: `1 ${base === 'ACK' ? 'ACK' : method}` },
    { name: 'Contact', value: '<sip:fuzzer@@@HOST@@>' },
  ];
  let body = '';
  if (base === 'INVITE' || base === 'UPDATE') {
    headers.push({ name: 'Supported', value: 'timer, replaces' }, { name: 'Session-Expires', value: '1800;refresher=uac' }, { name: 'Min-SE', value: '90' });
    headers.push({ name: 'Content-Type', value: 'application/sdp' });
    body = SDP_OFFER;
  }
  if (base === 'INFO') {
    headers.push({ name: 'Content-Type', value: 'application/dtmf-relay' });
    body = 'Signal=5\r\nDuration=160\r\n';
  }
  if (base === 'REGISTER') headers.push({ name: 'Expires', value: '3600' });
  if (base === 'SUBSCRIBE') headers.push({ name: 'Event', value: 'presence' }, { name: 'Expires', value: '600' });
  const startLine = base === 'response' ? 'SIP/2.0 200 OK' : `${method} ${uri} SIP/2.0`;
  return { base, startLine, headers, body, contentLength: 'exact', lineEnd: '\r\n' };
}

const HEADER_NAMES = [
  'Via', 'v', 'From', 'f', 'To', 't', 'Call-ID', 'i', 'CSeq', 'Content-Length', 'l', 'Max-Forwards', 'Contact', 'm',
  'Content-Type', 'c', 'Content-Encoding', 'e', 'Supported', 'k', 'Require', 'Proxy-Require', 'Session-Expires', 'x',
  'Min-SE', 'Expires', 'Allow', 'Accept', 'Authorization', 'Proxy-Authorization', 'Route', 'Record-Route', 'Event',
  'Reason', 'Replaces', 'RSeq', 'RAck', 'Warning', 'User-Agent', 'Subject', 's', 'Privacy', 'P-Asserted-Identity',
  'X-Fuzz',
];

/** Names a peer could only get wrong on purpose. */
const BROKEN_NAMES: Part[] = ['', ' Via', 'Via ', 'Call ID', 'X\0Y', 'Ünïcödé', 'X:Y', '\tTo', 'x'.repeat(5000), Uint8Array.of(0xff, 0xfe)];

/** Values that look like what the header should hold, broken in the ways parsers stumble on. */
const STRUCTURED_VALUES = [
  '<sip:x', 'sip:x>', '"unterminated <sip:a@b>', '<>', '<sip:>', '<sip:@>', 'sip:a@b;tag', ';tag=;tag=', ';;;;', ',,,,', '=;=',
  'SIP/2.0/UDP', 'SIP/2.0/UDP ', 'SIP/2.0/UDP host:99999', 'SIP/2.0/UDP host:-1', 'SIP/2.0/UDP [::1', 'SIP/3.0/UDP h;branch=z9hG4bK1',
  'SIP/2.0/SCTP h;branch=z9hG4bK1', 'SIP/2.0/UDP h;branch=z9hG4bK1;rport=abc;received=999.1.1.1', '1 INVITE', '-1 INVITE',
  '4294967296 INVITE', '1', 'INVITE', '1 invite', '1  INVITE', 'abc', '*', 'Digest', 'Digest username=', 'Digest realm="x", nonce="',
  '1800;refresher=proxy', '1800;refresher', '0', 'application/sdp;charset=', 'gzip', '100rel,timer,,', 'timer', 'foo',
];

const hugeValue: fc.Arbitrary<string> = fc
  .tuple(hugeLength, fc.constantFrom('x', 'a,', ';p', ' ', '<sip:a@b>,', '"'))
  .map(([length, unit]) => unit.repeat(Math.ceil(length / unit.length)).slice(0, length));

const headerValue: fc.Arbitrary<Part> = fc.oneof(
  { weight: 3, arbitrary: numberText },
  { weight: 3, arbitrary: fc.constantFrom(...STRUCTURED_VALUES) },
  { weight: 3, arbitrary: anyText },
  { weight: 2, arbitrary: controlText },
  { weight: 2, arbitrary: badUtf8 },
  { weight: 1, arbitrary: hugeValue },
);

const headerName: fc.Arbitrary<Part> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...HEADER_NAMES) },
  { weight: 2, arbitrary: fc.constantFrom(...HEADER_NAMES).map((n) => n.toUpperCase()) },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,20}$/) },
  { weight: 1, arbitrary: fc.constantFrom(...BROKEN_NAMES) },
);

type Mutation = (draft: SipDraft) => { draft: SipDraft; note: string; touchesIdentity: boolean };

const nameText = (name: Part) => (typeof name === 'string' ? name : Buffer.from(name).toString('latin1'));
const isIdentity = (name: Part) => IDENTITY.has(nameText(name).trim().toLowerCase());

const startLineMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.constantFrom('SIP/2.0', 'sip/2.0', 'Sip/2.0', 'SIP/3.0', 'SIP/2.00', 'SIP/02.0', 'SIP/1.0', 'SIP/2', 'SIP/', 'HTTP/1.1', 'SIP/2.0 SIP/2.0', '').map(
    (version): Mutation => (draft) => ({
      draft: { ...draft, startLine: typeof draft.startLine === 'string' ? draft.startLine.replace(/SIP\/2\.0/, version) : draft.startLine },
      note: `version ${JSON.stringify(version)}`,
      // A version of the right form still makes a request line: 505 or 400, but an answer.
      touchesIdentity: !/^sip\/\d+\.\d+$/i.test(version),
    }),
  ),
  fc
    .oneof(
      fc.constantFrom('sip:', 'sip:@', 'sips:', 'tel:', 'tel:+1', 'http://x/', '<sip:a@b>', 'sip:a@b;c=d?e=f', 'sip:%00@x', 'mailto:a@b', '*', 'sip:[::1', 'sip:a@b:99999'),
      fc.string({ maxLength: 40 }),
      hugeValue,
    )
    .map((uri): Mutation => (draft) => ({
      draft: { ...draft, startLine: typeof draft.startLine === 'string' ? draft.startLine.replace(/ \S+ /, ` ${uri} `) : draft.startLine },
      note: `request-uri ${JSON.stringify(uri.slice(0, 40))}`,
      touchesIdentity: true,
    })),
  fc
    .oneof(fc.constantFrom(...METHODS).map((m) => m.toLowerCase()), fc.stringMatching(/^[A-Za-z!%*_+`'~.-]{1,12}$/), fc.constantFrom('', 'INV ITE', 'X'.repeat(3000)))
    .map((method): Mutation => (draft) => ({
      draft: { ...draft, startLine: typeof draft.startLine === 'string' ? draft.startLine.replace(/^\S+/, method) : draft.startLine },
      note: `method ${JSON.stringify(method.slice(0, 40))}`,
      touchesIdentity: true,
    })),
  fc
    .oneof(
      fc.constantFrom('SIP/2.0 000 Zero', 'SIP/2.0 99 Low', 'SIP/2.0 1000 High', 'SIP/2.0 700 Beyond', 'SIP/2.0 -1 Neg', 'SIP/2.0 200', 'SIP/2.0 200 ', 'SIP/2.0 401 Unauthorized', 'SIP/2.0 180 Ringing', 'SIP/2.0 486 Busy Here'),
      fc.tuple(fc.integer({ min: 100, max: 699 }), anyText).map(([status, reason]) => `SIP/2.0 ${status} ${reason}`),
    )
    .map((line): Mutation => (draft) => ({ draft: { ...draft, startLine: line }, note: `status line ${JSON.stringify(line.slice(0, 40))}`, touchesIdentity: true })),
  fc.oneof(anyText, badUtf8, fc.constantFrom('', ' ', 'OPTIONS  sip:a@b  SIP/2.0', 'OPTIONS\tsip:a@b\tSIP/2.0', 'OPTIONS sip:a@b SIP/2.0 ', ' OPTIONS sip:a@b SIP/2.0')).map(
    (line): Mutation => (draft) => ({ draft: { ...draft, startLine: line }, note: 'start line replaced', touchesIdentity: true }),
  ),
);

/** Picks a header by a number taken modulo the header count. */
const pick = (draft: SipDraft, at: number) => (draft.headers.length === 0 ? -1 : at % draft.headers.length);

const headerMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.tuple(fc.nat(), headerValue).map(([at, value]): Mutation => (draft) => {
    const i = pick(draft, at);
    if (i < 0) return { draft, note: 'no header to change', touchesIdentity: false };
    const headers = draft.headers.map((h, j) => (j === i ? { ...h, value } : h));
    return { draft: { ...draft, headers }, note: `value of ${nameText(draft.headers[i]!.name)}`, touchesIdentity: isIdentity(draft.headers[i]!.name) };
  }),
  fc.tuple(fc.nat(), headerName, headerValue).map(([at, name, value]): Mutation => (draft) => {
    const headers = [...draft.headers];
    headers.splice(at % (headers.length + 1), 0, { name, value });
    const text = nameText(name);
    // A name that is no header name garbles the header section: the message may be refused as a whole.
    const broken = !/^[A-Za-z0-9-]+$/.test(text);
    return { draft: { ...draft, headers }, note: `added ${JSON.stringify(text.slice(0, 30))}`, touchesIdentity: broken || isIdentity(name) };
  }),
  fc.nat().map((at): Mutation => (draft) => {
    const i = pick(draft, at);
    if (i < 0) return { draft, note: 'no header to remove', touchesIdentity: false };
    return { draft: { ...draft, headers: draft.headers.filter((_, j) => j !== i) }, note: `removed ${nameText(draft.headers[i]!.name)}`, touchesIdentity: isIdentity(draft.headers[i]!.name) };
  }),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 200 })).map(([at, times]): Mutation => (draft) => {
    const i = pick(draft, at);
    if (i < 0) return { draft, note: 'no header to repeat', touchesIdentity: false };
    const headers = [...draft.headers];
    headers.splice(i, 0, ...Array.from({ length: times }, () => draft.headers[i]!));
    return { draft: { ...draft, headers }, note: `${nameText(draft.headers[i]!.name)} repeated ${times}×`, touchesIdentity: isIdentity(draft.headers[i]!.name) };
  }),
  fc.tuple(fc.nat(), fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom('\r\n ', '\r\n\t', '\r\n  \t ', '\n ', '\r\n', '\r\n\r\n ')).map(([at, where, fold]): Mutation => (draft) => {
    const i = pick(draft, at);
    const header = draft.headers[i];
    if (!header || typeof header.value !== 'string') return { draft, note: 'nothing to fold', touchesIdentity: false };
    const cut = Math.floor(where * header.value.length);
    const value = `${header.value.slice(0, cut)}${fold}${header.value.slice(cut)}`;
    // A fold that is not one (no white space after the line end) ends the header there.
    const realFold = /^\r?\n[ \t]/.test(fold);
    return {
      draft: { ...draft, headers: draft.headers.map((h, j) => (j === i ? { ...h, value } : h)) },
      note: `${nameText(header.name)} folded with ${JSON.stringify(fold)}`,
      touchesIdentity: !realFold || isIdentity(header.name),
    };
  }),
  fc.tuple(fc.nat(), fc.constantFrom(' :', '\t:', ':', ': ', ':\t\t')).map(([at, colon]): Mutation => (draft) => {
    const i = pick(draft, at);
    const header = draft.headers[i];
    if (!header || typeof header.name !== 'string') return { draft, note: 'no header to space', touchesIdentity: false };
    const headers = draft.headers.map((h, j) => (j === i ? { name: `${header.name}${colon.slice(0, -1)}`, value: h.value } : h));
    return { draft: { ...draft, headers }, note: `${header.name} written "${header.name}${colon}"`, touchesIdentity: isIdentity(header.name) };
  }),
);

const bodyMutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.oneof(numberText, fc.constantFrom('none', 'exact+1', 'exact-1', 'exact*1000')).map((length): Mutation => (draft) => ({
    draft: { ...draft, contentLength: length },
    note: `Content-Length ${JSON.stringify(length)}`,
    touchesIdentity: true,
  })),
  fc.oneof(fc.uint8Array({ maxLength: 300 }), badUtf8, anyText, hugeLength.map((n) => 'v=0\r\n'.repeat(Math.ceil(n / 5)))).map((body): Mutation => (draft) => ({
    draft: { ...draft, body },
    note: `body of ${body.length} ${typeof body === 'string' ? 'characters' : 'bytes'}`,
    // A body over UDP is limited by the datagram; the rest of the message is still whole.
    touchesIdentity: body.length > 8_000,
  })),
  fc.constantFrom('\n', '\r', '\r\r\n', '\n\r').map((lineEnd): Mutation => (draft) => ({ draft: { ...draft, lineEnd }, note: `line end ${JSON.stringify(lineEnd)}`, touchesIdentity: true })),
);

const byteEdit = fc.tuple(
  fc.double({ min: 0, max: 1, noNaN: true }),
  fc.constantFrom('insert' as const, 'overwrite' as const, 'truncate' as const),
  fc.oneof(fc.constantFrom(Uint8Array.of(0), Uint8Array.of(0x0b), Uint8Array.of(0x0d), Uint8Array.of(0x0a), Uint8Array.of(0x0d, 0x0a, 0x0d, 0x0a), Uint8Array.of(0xff), Uint8Array.of(0x20)), badUtf8),
);

/** A SIP message case: a base message, zero to four structured mutations, sometimes raw byte edits. */
export const sipCase: fc.Arbitrary<SipFuzzCase> = fc
  .record({
    base: fc.constantFrom(...METHODS, 'response' as const),
    mutations: fc.array(fc.oneof({ weight: 1, arbitrary: startLineMutation }, { weight: 4, arbitrary: headerMutation }, { weight: 2, arbitrary: bodyMutation }), { maxLength: 4 }),
    byteEdits: fc.oneof({ weight: 5, arbitrary: fc.constant([]) }, { weight: 1, arbitrary: fc.array(byteEdit, { minLength: 1, maxLength: 3 }) }),
  })
  .map(({ base, mutations, byteEdits }) => {
    let draft = baseDraft(base);
    const notes: string[] = [];
    let identity = false;
    for (const mutate of mutations) {
      const done = mutate(draft);
      draft = done.draft;
      notes.push(done.note);
      identity ||= done.touchesIdentity;
    }
    if (byteEdits.length > 0) notes.push(`${byteEdits.length} raw byte edit(s)`);
    return { draft, mutations: notes, byteEdits, identityTouched: identity || byteEdits.length > 0 };
  })
  .map(({ identityTouched, ...rest }) => ({ ...rest, mutations: identityTouched ? rest.mutations : [...rest.mutations, 'identity intact'] }));

const bytesOf = (part: Part) => (typeof part === 'string' ? Buffer.from(part, 'utf8') : Buffer.from(part));

function fill(part: Part, sender: SipSender): Part {
  if (typeof part !== 'string') return part;
  return part
    .replaceAll('@@TRANSPORT@@', sender.transport.toUpperCase())
    .replaceAll('@@HOST@@', sender.hostport)
    .replaceAll('@@TARGET@@', sender.target)
    .replaceAll('@@ID@@', sender.id);
}

/** The bytes of a case as `sender` sends them. */
export function renderSipCase(fuzzCase: SipFuzzCase, sender: SipSender): Buffer {
  const { draft } = fuzzCase;
  const eol = Buffer.from(draft.lineEnd, 'latin1');
  const body = bytesOf(fill(draft.body, sender));
  const length = draft.contentLength;
  const declared =
    length === 'exact' ? String(body.length)
    : length === 'exact+1' ? String(body.length + 1)
    : length === 'exact-1' ? String(body.length - 1)
    : length === 'exact*1000' ? String(body.length * 1000)
    : length;
  const lines: Buffer[] = [bytesOf(fill(draft.startLine, sender))];
  for (const header of draft.headers) lines.push(Buffer.concat([bytesOf(fill(header.name, sender)), Buffer.from(': '), bytesOf(fill(header.value, sender))]));
  if (length !== 'none') lines.push(Buffer.from(`Content-Length: ${declared}`, 'latin1'));
  const parts: Buffer[] = [];
  for (const line of lines) parts.push(line, eol);
  parts.push(eol, body);
  let bytes = Buffer.concat(parts);
  for (const [where, how, what] of fuzzCase.byteEdits) {
    const at = Math.floor(where * bytes.length);
    if (how === 'truncate') bytes = bytes.subarray(0, at);
    else if (how === 'insert') bytes = Buffer.concat([bytes.subarray(0, at), what, bytes.subarray(at)]);
    else bytes = Buffer.concat([bytes.subarray(0, at), what, bytes.subarray(Math.min(bytes.length, at + what.length))]);
  }
  return bytes;
}

/**
 * What the sender of these bytes must get back, by RFC 3261 and independently of any SIP
 * stack's parser:
 * - 'silence': a response (§18.1.2: never answered), an ACK (§17.2.1: never answered), or
 *   a request without any Via (§18.2.2: nowhere to send an answer);
 * - 'answer': a request whose identity (start line, Via, From, To, Call-ID, CSeq,
 *   Content-Length) the mutations left alone: it is answered, by the stack or the app;
 * - 'either': anything else (a stack may answer 400 or drop what it cannot read).
 * An answer, when one comes, is always a final response with a status and a reason.
 */
export function expectedSipAnswer(fuzzCase: SipFuzzCase, bytes: Buffer): 'silence' | 'answer' | 'either' {
  const text = bytes.toString('latin1');
  const firstLine = text.split(/\r\n|\n|\r/, 1)[0] ?? '';
  if (/^SIP\/\d+\.\d+ \d{3}( |$)/i.test(firstLine)) return 'silence';
  if (/^ACK /.test(firstLine)) return 'silence';
  if (!/(^|[\r\n])\s*(via|v)\s*:/i.test(text)) return 'silence';
  // Beyond what one datagram or the stream framer's limit carries: a stack may refuse or drop it.
  if (bytes.length > MAX_SIP_MESSAGE_BYTES) return 'either';
  if (fuzzCase.mutations.includes('identity intact') && fuzzCase.draft.base !== 'ACK' && fuzzCase.draft.base !== 'response') return 'answer';
  return 'either';
}
