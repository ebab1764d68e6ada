/**
 * Whom the guard judges: a listed SIP front's caller by the Via below the front's own
 * (its received, else its sent-by), anyone else by the source address whatever its Vias say.
 */
import { describe, expect, it } from 'vitest';
import { callerAddress } from '../../../src/sip/guard/caller-address.js';
import { trustedSources } from '../../../src/sip/guard/trusted-sources.js';

const FRONT = '172.31.250.10';
const caller = callerAddress(trustedSources([{ address: FRONT, prefix: 32, family: 'ipv4' }]));

function from(source: string, vias: string[]) {
  const via = vias.length === 0 ? undefined : vias.join(',');
  return { source_address: source, get: (name: string) => (name.toLowerCase() === 'via' ? via : undefined) };
}

const FRONT_VIA = `SIP/2.0/UDP ${FRONT};branch=z9hG4bKfront.0`;

describe('the caller address the SIP guard judges', () => {
  it('ignores the Vias of a request from a source that is not a front: a forged one gains nothing', () => {
    expect(caller(from('203.0.113.66', ['SIP/2.0/UDP 203.0.113.66:5060;branch=z9hG4bK1', 'SIP/2.0/UDP 198.51.100.7;received=198.51.100.7;branch=z9hG4bK2']))).toBe('203.0.113.66');
    expect(caller(from('::ffff:203.0.113.66', [`SIP/2.0/UDP ${FRONT};branch=z9hG4bK1`, 'SIP/2.0/UDP 198.51.100.7;branch=z9hG4bK2']))).toBe('203.0.113.66');
  });

  it("takes a front's caller from the second Via's received, where the front put it", () => {
    expect(caller(from(FRONT, [FRONT_VIA, 'SIP/2.0/UDP 10.0.0.5:5060;received=198.51.100.7;rport=40123;branch=z9hG4bK2']))).toBe('198.51.100.7');
    expect(caller(from(`::ffff:${FRONT}`, [FRONT_VIA, 'SIP/2.0/UDP phone.example.com;rport=5062;received=198.51.100.8;branch=z9hG4bK2']))).toBe('198.51.100.8');
    expect(caller(from(FRONT, [FRONT_VIA, 'SIP/2.0/TCP [2001:db8::9]:5060;received=2001:db8::7;branch=z9hG4bK2']))).toBe('2001:db8::7');
  });

  it("takes a front's caller from the second Via's sent-by when the front added no received", () => {
    expect(caller(from(FRONT, [FRONT_VIA, 'SIP/2.0/UDP 198.51.100.9:5070;rport;branch=z9hG4bK2']))).toBe('198.51.100.9');
    expect(caller(from(FRONT, [FRONT_VIA, 'SIP/2.0/UDP [2001:db8::9]:5060;branch=z9hG4bK2', 'SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK3']))).toBe('2001:db8::9');
  });

  it('looks through a front behind a front, one Via further each time, and stops at the first hop that is not one', () => {
    const node = '127.0.0.11';
    const fronts = callerAddress(trustedSources([{ address: FRONT, prefix: 32, family: 'ipv4' }, { address: node, prefix: 32, family: 'ipv4' }]));
    const proxied = [`SIP/2.0/UDP ${node}:5060;branch=z9hG4bK0`, FRONT_VIA, 'SIP/2.0/UDP 10.0.0.5;received=198.51.100.7;branch=z9hG4bK2'];
    expect(fronts(from(node, proxied))).toBe('198.51.100.7');
    // Only the front was listed: the node proxying is judged as itself.
    expect(caller(from(node, proxied))).toBe(node);
    // A caller writing a front's address into its own Via gains nothing either: the front wrote where it came from.
    expect(caller(from(FRONT, [FRONT_VIA, `SIP/2.0/UDP ${FRONT};received=198.51.100.66;branch=z9hG4bK2`, 'SIP/2.0/UDP 192.0.2.50;branch=z9hG4bK3']))).toBe('198.51.100.66');
  });

  it("judges the front's own request (one Via, like its OPTIONS probes) or a Via with no address as the front", () => {
    expect(caller(from(FRONT, [FRONT_VIA]))).toBe(FRONT);
    expect(caller(from(FRONT, []))).toBe(FRONT);
    expect(caller(from(FRONT, [FRONT_VIA, 'SIP/2.0/UDP phone.example.com;branch=z9hG4bK2']))).toBe(FRONT);
  });
});
