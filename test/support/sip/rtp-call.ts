/**
 * One phone call from a raw SIP caller (its own SipPeer) that talks a PCMU tone over RTP
 * (an RtpPhone) once answered: for fault tests that watch the wire, the audio both ways,
 * and the BYE the gateway sends.
 */
import { randomBytes } from 'node:crypto';
import { SrtpSession } from '../../../src/media/srtp/srtp-session.js';
import { type SrtpSuite, isSrtpSuite, masterKeyLength } from '../../../src/media/srtp/srtp-suites.js';
import { RtpPhone } from '../phone/rtp-phone.js';
import type { HostPort } from './drachtio-target.js';
import { PCMU_OFFER, SipCaller, type CallerIdentity } from './sip-caller.js';
import { firstLine, parseSipMessage, responseTo, type SipRequest } from './sip-message.js';
import { type ReceivedSip, SipPeer, isFinalResponse, isRequest, isResponse } from './sip-peer.js';


export class RtpCall {
  /** The final response's status line, e.g. "SIP/2.0 200 OK". */
  statusLine = '';
  /** The final response, answered or not. */
  final: ReceivedSip | undefined;
  private answer: ReceivedSip | undefined;
  /** The SRTP suite it offered, when it did. */
  private srtp: SrtpSuite | undefined;
  private rtpClosed = false;

  private constructor(
    readonly peer: SipPeer,
    readonly caller: SipCaller,
    readonly rtp: RtpPhone,
  ) {}

  /** Dials meetingId through drachtio and authenticates; see status for how it was answered. */
  /** `rtcpMux`: offer RTCP on the RTP port (RFC 5761), so the gateway's reports reach the RtpPhone. */
  /** `srtp`: offer SRTP (RTP/SAVP, a=crypto with a key of its own) and talk it with the gateway's key from its answer. */
  static async dial(
    sip: HostPort,
    meetingId: string,
    identity: CallerIdentity,
    options: { toneHz?: number; timeoutMs?: number; rtcpMux?: boolean; srtp?: SrtpSuite } = {},
  ): Promise<RtpCall> {
    const peer = await SipPeer.udp(sip);
    const rtp = await RtpPhone.open({ codec: 'PCMU', payloadType: 0, toneHz: options.toneHz ?? 1000 });
    const call = new RtpCall(peer, new SipCaller(peer, `sip:${meetingId}@${sip.host}:${sip.port}`), rtp);
    try {
      await call.invite(identity, options.timeoutMs ?? 10_000, options.rtcpMux ?? false, options.srtp);
    } catch (err) {
      await call.close();
      throw err;
    }
    return call;
  }

  get callId(): string {
    return this.caller.callId;
  }

  get answered(): boolean {
    return this.answer !== undefined;
  }

  /** The gateway's RTP port from its answer. */
  get gatewayRtpPort(): number {
    return Number(/^m=audio (\d+) /m.exec(this.answer?.text ?? '')?.[1]);
  }

  /** RTP packets received since `sinceMs` (performance.now()). */
  packetsSince(sinceMs: number): number {
    return this.rtp.received.filter((p) => p.atMs >= sinceMs).length;
  }

  /** The gateway's BYE, answered 200. */
  async byeFromGateway(timeoutMs: number): Promise<ReceivedSip> {
    const bye = await this.answerRequest('BYE', timeoutMs);
    this.rtp.stopTalking();
    return bye;
  }

  /** The next in-dialog request of `method` from the gateway's side, answered 200. */
  async answerRequest(method: string, timeoutMs: number): Promise<ReceivedSip> {
    const request = await this.peer.next(isRequest(method), timeoutMs);
    this.peer.send(responseTo(parseSipMessage(request.text) as SipRequest, 200, 'OK'));
    return request;
  }

  /**
   * An SRTP call's re-INVITE with a new key of the phone's (RFC 4568 §7.1.4): once
   * answered, it talks with the new key and hears with the key of the gateway's answer,
   * which it returns.
   */
  async rekey(timeoutMs = 5000): Promise<ReceivedSip> {
    const suite = this.srtp!;
    const key = randomBytes(masterKeyLength(suite));
    this.caller.inDialog(this.answer!, 'INVITE', { body: srtpOffer(this.rtp.port, suite, key) });
    const ok = await this.peer.next(isResponse(200, 'INVITE'), timeoutMs);
    this.caller.inDialog(ok, 'ACK');
    this.rtp.secure(gatewaySrtp(ok.text, key));
    return ok;
  }

  /** Hangs up with a BYE and waits for its 200. */
  async hangUp(): Promise<void> {
    this.rtp.stopTalking();
    this.caller.inDialog(this.answer!, 'BYE');
    await this.peer.next(isResponse(200, 'BYE'), 5000);
  }

  /** The phone's media is gone without a BYE: its RTP socket closes, nothing more is sent or received. */
  vanish(): void {
    if (this.rtpClosed) return;
    this.rtpClosed = true;
    this.rtp.close();
  }

  async close(): Promise<void> {
    this.vanish();
    await this.peer.close();
  }

  private async invite(identity: CallerIdentity, timeoutMs: number, rtcpMux: boolean, srtp: SrtpSuite | undefined): Promise<void> {
    this.srtp = srtp;
    const key = srtp ? randomBytes(masterKeyLength(srtp)) : Buffer.alloc(0);
    const body = (srtp ? srtpOffer(this.rtp.port, srtp, key) : PCMU_OFFER(this.rtp.port)) + (rtcpMux ? 'a=rtcp-mux\r\n' : '');
    this.caller.invite({ body });
    const challenge = await this.peer.next(isResponse(401), timeoutMs);
    this.caller.ackFailure(challenge);
    this.caller.invite({ body, authorization: this.caller.authorization(challenge, identity) });
    const final = await this.peer.next(isFinalResponse, timeoutMs);
    this.final = final;
    this.statusLine = firstLine(final.text);
    if (!this.statusLine.startsWith('SIP/2.0 200 ')) {
      this.caller.ackFailure(final);
      return;
    }
    this.answer = final;
    this.caller.inDialog(final, 'ACK');
    if (srtp) this.rtp.secure(gatewaySrtp(final.text, key));
    this.rtp.talk(this.gatewayRtpPort);
  }
}

function srtpOffer(port: number, suite: SrtpSuite, key: Buffer): string {
  return PCMU_OFFER(port).replace(' RTP/AVP ', ' RTP/SAVP ') + `a=crypto:1 ${suite} inline:${key.toString('base64')}\r\n`;
}

/** The SRTP session of an answer's a=crypto line: our key out, the gateway's in. */
function gatewaySrtp(answer: string, localKey: Buffer): SrtpSession {
  const [, suite = '', key = ''] = /^a=crypto:\d+ (\S+) inline:([A-Za-z0-9+/=]+)/m.exec(answer) ?? [];
  if (!isSrtpSuite(suite)) throw new Error('the answer has no a=crypto line we offered');
  return new SrtpSession({ suite, localKey, remoteKey: Buffer.from(key, 'base64') });
}
