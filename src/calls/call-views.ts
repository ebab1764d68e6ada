/**
 * The live calls as the call API shows them: who (the caller as the meeting sees them, a
 * number masked to its last four digits), where, in which codec, how far the call got,
 * whether it is muted, and its quality so far; hanging one up, through its one close; and
 * muting one in its meeting. This node's calls in full; with a shared store (Redis), the
 * answered calls of the other nodes too, as their records say (no quality: their media
 * is elsewhere), which only the node holding a call can act on.
 */
import { GatewayError } from '../errors.js';
import type { CallQualityReport } from '../media/quality/call-quality.js';
import type { ActiveCall, GatewayStore } from '../store/store.js';
import { hangUpEnd } from './call-end.js';
import type { CallMedia, CallSignaling, CallState } from './call.js';
import type { CallRegistry } from './call-registry.js';
import type { DialOutState, DialOuts } from './dial-outs.js';

/** The media of a call as its view reads it (PhoneMedia). */
export interface ViewedMedia extends CallMedia {
  readonly identity: { readonly displayName: string };
  readonly codec: string | undefined;
  /** Muted in the meeting by the call API or the caller's *6 (not hold). */
  readonly muted: boolean;
  /** Mutes or unmutes the caller in its meeting, with a tone it hears; false when it already was so. */
  setMuted(muted: boolean): Promise<boolean>;
  qualityReport(): Promise<CallQualityReport | undefined>;
}

export interface CallView {
  readonly callId: string;
  readonly meetingId: string;
  /** The gateway node that holds the call. */
  readonly nodeId: string;
  /** The node that authenticated the call and proxied it to its holder (and relays its dialog); absent for a call taken directly. */
  readonly viaNodeId?: string;
  /** The caller's display name; a phone number shows only its last four digits. Absent before the media opened. */
  readonly caller?: string;
  /** Absent until the codec is agreed. */
  readonly codec?: string;
  readonly state: CallState;
  /** When the INVITE came (ISO 8601). */
  readonly startedAt: string;
  /** When the gateway answered it. */
  readonly answeredAt?: string;
  /** Whether the caller is muted in the meeting (by the call API or its own *6; hold aside); once answered. */
  readonly muted?: boolean;
  readonly quality?: CallQualityReport;
  /** A call this node dialled: whom, how far it got, and the final response that refused it. */
  readonly dialOut?: { readonly to: string; readonly state: DialOutState; readonly sipStatus?: number; readonly reason?: string };
}

/** How long a view waits for a media thread's statistics: a busy thread must not hold the API. */
const QUALITY_TIMEOUT_MS = 1000;

export class CallDirectory {
  constructor(
    private readonly calls: CallRegistry<CallSignaling, ViewedMedia>,
    private readonly cluster: { readonly nodeId: string; readonly store: Pick<GatewayStore, 'listCalls' | 'getCall'> },
    /** The calls this node dialled, kept a while after they ended. */
    private readonly dialOuts?: Pick<DialOuts, 'get'>,
  ) {}

  /** This node's calls being set up or answered (not those already closing), then the other nodes' answered ones. */
  async list(): Promise<CallView[]> {
    const { nodeId, store } = this.cluster;
    const [own, recorded] = await Promise.all([Promise.all(this.calls.all().filter((call) => call.isOpen).map((call) => view(call, nodeId))), store.listCalls()]);
    return [...own, ...recorded.filter((call) => call.nodeId !== nodeId).map(recordView)];
  }

  /** A live call, or a dial-out of this node that has ended (state `closed`, kept a while so its outcome can be read). */
  async get(callId: string): Promise<CallView | undefined> {
    const call = this.calls.get(callId);
    const dialOut = this.dialOuts?.get(callId);
    if (call?.isOpen) {
      const live = await view(call, this.cluster.nodeId);
      return dialOut ? { ...live, dialOut: dialOutView(dialOut) } : live;
    }
    if (dialOut) {
      const { meetingId, startedAt } = dialOut;
      return { callId, meetingId, nodeId: this.cluster.nodeId, state: 'closed', startedAt: new Date(startedAt).toISOString(), dialOut: dialOutView(dialOut) };
    }
    if (call) return undefined;
    const recorded = await this.elsewhere(callId);
    return recorded && recordView(recorded);
  }

  /**
   * Mutes or unmutes an answered call in its meeting and returns its view (undefined when
   * there is no such call); conflict when it is not answered, or its media not yet started.
   */
  async setMuted(callId: string, muted: boolean): Promise<CallView | undefined> {
    const call = this.calls.get(callId);
    if (!call) return this.refuseElsewhere(callId);
    if (!call.isOpen) return undefined;
    const media = call.state === 'answered' ? call.media : undefined;
    if (!media) throw new GatewayError('conflict', `call "${callId}" is not answered yet`);
    if (await media.setMuted(muted)) call.log.info({ muted, by: 'call API' }, muted ? 'caller muted' : 'caller unmuted');
    return view(call, this.cluster.nodeId);
  }

  /** Ends a live call (a BYE with Reason once answered, 403 before) and waits until it has closed; false when there is none. */
  async hangUp(callId: string): Promise<boolean> {
    const call = this.calls.get(callId);
    if (!call) return (await this.refuseElsewhere(callId)) !== undefined;
    if (!call.isOpen) return false;
    await call.close(hangUpEnd());
    return true;
  }

  /** The record of a call another node holds; undefined when no node does. */
  private async elsewhere(callId: string): Promise<ActiveCall | undefined> {
    const recorded = await this.cluster.store.getCall(callId);
    return recorded && recorded.nodeId !== this.cluster.nodeId ? recorded : undefined;
  }

  /** Only the node that holds a call's signaling and media can act on it: undefined when no node holds it. */
  private async refuseElsewhere(callId: string): Promise<undefined> {
    const recorded = await this.elsewhere(callId);
    if (recorded) throw new GatewayError('conflict', `call "${callId}" is held by gateway node "${recorded.nodeId}": ask that node's API`);
    return undefined;
  }
}

function dialOutView({ to, state, sipStatus, reason }: NonNullable<ReturnType<DialOuts['get']>>): NonNullable<CallView['dialOut']> {
  return { to, state, ...(sipStatus !== undefined && { sipStatus }), ...(reason && { reason }) };
}

/** Another node's answered call, as its record says. */
function recordView(call: ActiveCall): CallView {
  return {
    callId: call.callId,
    meetingId: call.meetingId,
    nodeId: call.nodeId,
    ...(call.viaNodeId !== undefined && { viaNodeId: call.viaNodeId }),
    caller: call.caller,
    codec: call.codec,
    state: 'answered',
    startedAt: new Date(call.startedAt).toISOString(),
  };
}

async function view(
  call: {
  readonly callId: string;
  readonly meetingId: string;
  readonly state: CallState;
  readonly startedAt: number;
  readonly answeredAt: number | undefined;
  readonly viaNodeId: string | undefined;
  readonly media: ViewedMedia | undefined;
  },
  nodeId: string,
): Promise<CallView> {
  const { media, answeredAt } = call;
  const quality = call.state === 'answered' ? await qualityOf(media) : undefined;
  return {
    callId: call.callId,
    meetingId: call.meetingId,
    nodeId,
    ...(call.viaNodeId !== undefined && { viaNodeId: call.viaNodeId }),
    ...(media && { caller: media.identity.displayName }),
    ...(media?.codec !== undefined && { codec: media.codec }),
    state: call.state,
    startedAt: new Date(call.startedAt).toISOString(),
    ...(answeredAt !== undefined && { answeredAt: new Date(answeredAt).toISOString() }),
    ...(call.state === 'answered' && media && { muted: media.muted }),
    ...(quality && { quality }),
  };
}

async function qualityOf(media: ViewedMedia | undefined): Promise<CallQualityReport | undefined> {
  if (!media) return undefined;
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), QUALITY_TIMEOUT_MS)));
  try {
    return await Promise.race([media.qualityReport().catch(() => undefined), late]);
  } finally {
    clearTimeout(timer);
  }
}
