/**
 * Why an SDP could not be used. 400 when the SDP is broken or hostile; 488 when it is
 * fine but offers nothing we can use, with the RFC 3261 §20.43 Warning that says what.
 */
import { GatewayError } from '../../errors.js';

export type SdpProblem =
  // 400 Bad Request
  | 'not-sdp'
  | 'too-large'
  | 'control-characters'
  | 'no-media'
  | 'too-many-media'
  | 'bad-media-line'
  | 'bad-port'
  | 'bad-payload-type'
  | 'no-connection'
  | 'bad-connection'
  | 'answer-mismatch'
  // 488 Not Acceptable Here
  | 'no-audio'
  | 'unsupported-transport'
  | 'srtp-required'
  | 'no-common-codec';

const WARN_CODES: Partial<Record<SdpProblem, number>> = {
  'unsupported-transport': 302, // Incompatible transport protocol
  'srtp-required': 302,
  'no-audio': 304, // Media type not available
  'no-common-codec': 305, // Incompatible media format
};

export class SdpError extends GatewayError {
  constructor(
    readonly problem: SdpProblem,
    /** The reason; for 488s it starts with the warn-text RFC 3261 gives its warn-code. */
    message: string,
  ) {
    super(problem in WARN_CODES ? 'not_acceptable' : 'bad_request', message);
    this.name = 'SdpError';
  }

  /**
   * The Warning header value for a 488, e.g.
   * `305 sip.example.com "Incompatible media format: we support PCMU, PCMA"`.
   * agent: our host name, as the warn-agent. undefined for a 400.
   */
  warning(agent: string): string | undefined {
    const code = WARN_CODES[this.problem];
    return code === undefined ? undefined : `${code} ${agent} "${this.message.replace(/["\\]/g, '\\$&')}"`;
  }
}
