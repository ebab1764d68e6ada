/**
 * The one place where mediasoup-client's types meet the server's (the protocol is typed
 * with mediasoup 3.13's): both describe the same JSON, with small differences in naming
 * and in the string unions each version knows.
 */
import type { types as client } from 'mediasoup-client';
import type { Methods, TransportView } from '../signaling/protocol.js';

type ServerRtpCapabilities = Methods['join']['request']['rtpCapabilities'];
type ServerRtpParameters = Methods['produce']['request']['rtpParameters'];

/** The server names a candidate's address `ip`; mediasoup-client 3.7 reads `address` first. */
export function clientTransportOptions(view: TransportView): client.TransportOptions {
  return {
    id: view.transportId,
    iceParameters: view.iceParameters,
    iceCandidates: view.iceCandidates.map((candidate) => ({ ...candidate, address: candidate.ip })),
    dtlsParameters: view.dtlsParameters,
  };
}

// The Device keeps only what the router offered, so what it sends back fits the server's
// unions (the client's extra header extension URIs never appear).
export function serverRtpCapabilities(capabilities: client.RtpCapabilities): ServerRtpCapabilities {
  return capabilities as ServerRtpCapabilities;
}

export function serverRtpParameters(parameters: client.RtpParameters): ServerRtpParameters {
  return parameters as ServerRtpParameters;
}
