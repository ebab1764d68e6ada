/**
 * SDP offers shaped like those real phones and carriers send (addresses and ids made up).
 */
const sdp = (...lines: string[]) => `${lines.join('\r\n')}\r\n`;

/** baresip with its default audio modules: opus, G.722, G.711; DTMF at 8000 only; no rtcp-mux. */
export const BARESIP = sdp(
  'v=0',
  'o=- 1203287911 3145123690 IN IP4 192.168.1.20',
  's=-',
  'c=IN IP4 192.168.1.20',
  't=0 0',
  'm=audio 10256 RTP/AVP 96 9 0 8 101',
  'a=rtpmap:96 opus/48000/2',
  'a=fmtp:96 stereo=1;sprop-stereo=1',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-15',
  'a=sendrecv',
  'a=label:1',
  'a=ssrc:2934517125 cname:a8c5c7c8-52a8-4b65-9ffb-f23c8c3b4e2d',
  'a=rtcp-rsize',
  'a=ptime:20',
);

/** Zoiper 5: G.711 first, GSM (3) we do not support, static types without rtpmap, opus with FEC, rtcp-mux. */
export const ZOIPER = sdp(
  'v=0',
  'o=Z 0 5738197 IN IP4 10.0.0.5',
  's=Z',
  'c=IN IP4 10.0.0.5',
  't=0 0',
  'm=audio 52936 RTP/AVP 0 101 8 3 9 106',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=rtpmap:106 opus/48000/2',
  'a=fmtp:106 minptime=20; useinbandfec=1; usedtx=1',
  'a=sendrecv',
  'a=rtcp-mux',
);

/** Twilio Elastic SIP Trunking: G.711 and DTMF only. */
export const TWILIO = sdp(
  'v=0',
  'o=root 1380213538 1380213538 IN IP4 54.172.60.3',
  's=Twilio Media Gateway',
  'c=IN IP4 54.172.60.3',
  't=0 0',
  'm=audio 16534 RTP/AVP 0 8 101',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=rtpmap:101 telephone-event/8000',
  'a=fmtp:101 0-16',
  'a=ptime:20',
  'a=maxptime:150',
  'a=sendrecv',
);

/** Linphone with video on: speex and G.729 (static 18) we do not support, DTMF at three rates, a video stream. */
export const LINPHONE_VIDEO = sdp(
  'v=0',
  'o=alice 3525 1249 IN IP4 192.168.0.33',
  's=Talk',
  'c=IN IP4 192.168.0.33',
  't=0 0',
  'a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics',
  'm=audio 7078 RTP/AVP 96 97 98 0 8 18 101 99 100',
  'a=rtpmap:96 opus/48000/2',
  'a=fmtp:96 useinbandfec=1',
  'a=rtpmap:97 speex/16000',
  'a=fmtp:97 vbr=on',
  'a=rtpmap:98 speex/8000',
  'a=fmtp:98 vbr=on',
  'a=rtpmap:101 telephone-event/48000',
  'a=rtpmap:99 telephone-event/16000',
  'a=rtpmap:100 telephone-event/8000',
  'a=rtcp-fb:* trr-int 1000',
  'a=rtcp-fb:* ccm tmmbr',
  'm=video 9078 RTP/AVP 102 103',
  'a=rtpmap:102 VP8/90000',
  'a=rtpmap:103 H264/90000',
  'a=fmtp:103 profile-level-id=42801F',
  'a=rtcp-fb:* trr-int 1000',
  'a=rtcp-fb:102 nack pli',
  'a=rtcp-fb:103 nack pli',
);

export const SOFTPHONE_OFFERS = { BARESIP, ZOIPER, TWILIO, LINPHONE_VIDEO };
