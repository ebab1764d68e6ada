/**
 * The one place where mediasoup-client's types meet the server's (the protocol is typed
 * with mediasoup 3.27's): both describe the same JSON, with small differences in naming
 * and in the string unions each package knows (the server's header extension URIs
 * include some the client's union lacks).
 */
import type { types as client } from 'mediasoup-client';
import type { Methods, TransportView } from '../signaling/protocol.js';

type ServerRtpCapabilities = Methods['join']['request']['rtpCapabilities'];
type ServerRtpParameters = Methods['produce']['request']['rtpParameters'];
type RouterRtpCapabilities = Methods['getRouterRtpCapabilities']['response']['rtpCapabilities'];
type ConsumerRtpParameters = Methods['consume']['response']['rtpParameters'];

/** The server names a candidate's address `ip`; mediasoup-client reads `address` first. */
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

// What the router offers and what a consumer carries are the client's to interpret; an
// extension URI its union does not name is simply one it does not use.
export function clientRtpCapabilities(capabilities: RouterRtpCapabilities): client.RtpCapabilities {
  return capabilities as client.RtpCapabilities;
}

export function clientRtpParameters(parameters: ConsumerRtpParameters): client.RtpParameters {
  return parameters as client.RtpParameters;
}
