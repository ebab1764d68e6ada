/**
 * One browser participant's signaling: its WebSocket, requests answered in arrival
 * order, and its membership in the meeting's room. However the socket ends (leave,
 * close, a vanished browser, the meeting ending) the member leaves the room once.
 */
import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import { GatewayError } from '../errors.js';
import type { DialOutService } from '../calls/dial-outs.js';
import type { MeetingPlacement, Placement } from '../cluster/meeting-ownership.js';
import type { Logger } from '../logger.js';
import type { Room } from '../media/room.js';
import type { MemberChannel, RoomMember } from '../media/room-member.js';
import type { MeetingService } from '../meetings/meeting-service.js';
import type { Rooms } from '../media/rooms.js';
import { closeCodeFor, type SignalingErrorCode } from './close-codes.js';
import { parseRequest, requestIdOf } from './messages.js';
import { CloseCode, type Methods, type MethodName, PROTOCOL_VERSION, type Request } from './protocol.js';
import { notification, notificationFor, producerView } from './room-notifications.js';

export interface SignalingDeps {
  readonly meetings: MeetingService;
  readonly rooms: Pick<Rooms, 'room'>;
  /** Which node hosts the meeting: a join on another node's meeting is sent there. */
  readonly ownership: Pick<MeetingPlacement, 'admit'>;
  readonly webRtcListen: { ip: string; announcedIp: string };
  /** Present when PAGE_DIAL_OUT lets a joined browser dial out. */
  readonly dialOut?: DialOutService;
  readonly log: Logger;
  /** How often the socket is pinged; a socket that misses a pong is dropped. */
  readonly heartbeatMs?: number;
}

/** A join the meeting itself refuses (unknown, ended, full) ends the socket too. */
const MEETING_REFUSALS: ReadonlySet<SignalingErrorCode> = new Set(['not_found', 'gone', 'busy']);

/** An error reply's body. Unexpected failures reach the client only as 'internal'. */
interface SignalingError {
  readonly code: SignalingErrorCode;
  readonly message: string;
}

export class SignalingSession {
  private member: RoomMember | undefined;
  private room: Room | undefined;
  private queue: Promise<void>;
  private readonly log: Logger;
  private readonly heartbeat: NodeJS.Timeout;
  private alive = true;

  constructor(
    private readonly socket: WebSocket,
    private readonly meetingId: string,
    private readonly deps: SignalingDeps,
  ) {
    this.log = deps.log.child({ meetingId, component: 'signaling' });
    // Listeners first: frames that arrive while the meeting is being looked up are queued, not lost.
    socket.on('message', (raw, isBinary) => this.enqueue(isBinary ? null : raw.toString()));
    socket.on('close', () => this.ended('connection closed'));
    socket.on('error', (err) => this.log.debug({ reason: err.message }, 'signaling socket error'));
    socket.on('pong', () => (this.alive = true));
    this.heartbeat = setInterval(() => {
      if (!this.alive) {
        this.log.info({ participantId: this.member?.id }, 'signaling socket missed its heartbeat; dropping it');
        socket.terminate();
        return;
      }
      this.alive = false;
      socket.ping();
    }, deps.heartbeatMs ?? 10_000);
    this.queue = deps.meetings
      .getJoinable(meetingId)
      .then(() => deps.ownership.admit(meetingId))
      .then(
        (placement) => void this.redirectUnlessHere(placement),
        (err: unknown) => this.refuse(err),
      );
  }

  private enqueue(text: string | null): void {
    this.queue = this.queue.then(() => (this.socket.readyState === this.socket.OPEN ? this.handle(text) : undefined));
  }

  private async handle(text: string | null): Promise<void> {
    let request: Request | undefined;
    try {
      if (text === null) throw new GatewayError('bad_request', 'binary frames are not part of the protocol');
      request = parseRequest(text);
      const data = await this.dispatch(request);
      this.send({ v: PROTOCOL_VERSION, id: request.id, ok: true, data });
      if (request.method === 'leave') this.socket.close(CloseCode.normal, 'left');
    } catch (err) {
      const id = request?.id ?? (text === null ? null : requestIdOf(safeJson(text)));
      const error = this.errorBody(err, request?.method);
      this.send({ v: PROTOCOL_VERSION, id, ok: false, error });
      if (request?.method === 'join' && MEETING_REFUSALS.has(error.code)) {
        this.socket.close(closeCodeFor(error.code), error.message.slice(0, 120));
      }
    }
  }

  private async dispatch(request: Request): Promise<Methods[MethodName]['response']> {
    const { data } = request;
    switch (request.method) {
      case 'getRouterRtpCapabilities': {
        const room = await this.deps.rooms.room(this.meetingId);
        return { rtpCapabilities: room.router.rtpCapabilities };
      }
      case 'join':
        return this.join(data as Methods['join']['request']);
      case 'createTransport': {
        const transport = await this.joined().createWebRtcTransport(this.deps.webRtcListen);
        return {
          transportId: transport.id,
          iceParameters: transport.iceParameters,
          iceCandidates: transport.iceCandidates,
          dtlsParameters: transport.dtlsParameters,
        };
      }
      case 'connectTransport': {
        const { transportId, dtlsParameters } = data as Methods['connectTransport']['request'];
        await this.joined().connectTransport(transportId, dtlsParameters);
        return {};
      }
      case 'produce': {
        const { transportId, rtpParameters } = data as Methods['produce']['request'];
        const producer = await this.joined().produce(transportId, rtpParameters);
        return { producerId: producer.id };
      }
      case 'consume': {
        const { transportId, producerId } = data as Methods['consume']['request'];
        const member = this.joined();
        const owner = this.room?.producers(member.id).find((p) => p.producerId === producerId);
        if (!owner) throw new GatewayError('not_found', `no producer "${producerId}" in the meeting`);
        const consumer = await member.consume(transportId, producerId);
        return { consumerId: consumer.id, producerId, participantId: owner.memberId, kind: 'audio', rtpParameters: consumer.rtpParameters };
      }
      case 'resume':
        await this.joined().resume((data as Methods['resume']['request']).consumerId);
        return {};
      case 'mute':
        await this.joined().setMuted((data as Methods['mute']['request']).muted);
        return {};
      case 'leave':
        this.leaveRoom('left');
        return {};
      case 'dialOut':
        return this.dialOut(data as Methods['dialOut']['request']);
      default: {
        const unreachable: never = request.method;
        throw new GatewayError('bad_request', `unknown method ${String(unreachable)}`);
      }
    }
  }

  private async join({ displayName, rtpCapabilities }: Methods['join']['request']): Promise<Methods['join']['response']> {
    if (this.member) throw new GatewayError('conflict', 'already joined');
    const meeting = await this.deps.meetings.getJoinable(this.meetingId);
    // The lease may have passed to another node since the socket opened.
    if (this.redirectUnlessHere(await this.deps.ownership.admit(this.meetingId))) {
      throw new GatewayError('unavailable', 'the meeting is hosted on another node');
    }
    const room = await this.deps.rooms.room(this.meetingId);
    const member = room.admit({ id: randomUUID(), displayName, kind: 'browser' }, this.channel());
    member.rtpCapabilities = rtpCapabilities;
    this.member = member;
    this.room = room;
    this.log.info({ participantId: member.id }, 'browser joined');
    return {
      participantId: member.id,
      meetingTitle: meeting.title,
      participants: room.views(),
      producers: room.producers(member.id).map(producerView),
      canDialOut: this.deps.dialOut !== undefined,
    };
  }

  /** The same dial-out as POST /api/meetings/:id/dial-out, for a browser that has joined. */
  private async dialOut(request: Methods['dialOut']['request']): Promise<Methods['dialOut']['response']> {
    const participantId = this.joined().id;
    if (!this.deps.dialOut) throw new GatewayError('forbidden', 'dialling out from the page is off on this gateway (PAGE_DIAL_OUT)');
    const { callId } = await this.deps.dialOut.dial(this.meetingId, request);
    this.log.info({ participantId, callId, trunk: request.trunk }, 'browser dialled out');
    return { callId };
  }

  private channel(): MemberChannel {
    return {
      notify: (notice) => this.send(notificationFor(notice)),
      disconnect: (text, reason) => {
        this.member = undefined;
        if (reason === 'meeting-ended') this.send(notification('meetingEnded', { reason: text }));
        if (reason === 'removed') this.send(notification('removed', { reason: text }));
        if (reason === 'draining' || reason === 'shutdown') this.send(notification('serverClosing', { reason: text }));
        this.socket.close(closeCodeFor(reason), text);
      },
    };
  }

  private joined(): RoomMember {
    if (!this.member) throw new GatewayError('bad_request', 'join the meeting first');
    return this.member;
  }

  private refuse(err: unknown): void {
    const body = this.errorBody(err);
    this.log.info({ reason: body.message }, 'signaling refused');
    this.socket.close(closeCodeFor(body.code), body.message.slice(0, 120));
  }

  /** Sends the browser to the meeting's node and closes; true when it did. */
  private redirectUnlessHere(placement: Placement): boolean {
    if (placement.kind === 'here') return false;
    const url = `${placement.url}/m/${encodeURIComponent(this.meetingId)}`;
    this.log.info({ ownerNodeId: placement.nodeId, url }, 'meeting hosted on another node; browser sent there');
    this.send(notification('redirect', { url }));
    this.socket.close(CloseCode.redirect, 'meeting hosted on another node');
    return true;
  }

  private leaveRoom(reason: string): void {
    const member = this.member;
    this.member = undefined;
    if (member) this.room?.remove(member.id, reason);
  }

  private ended(reason: string): void {
    clearInterval(this.heartbeat);
    this.leaveRoom(reason);
  }

  private send(message: object): void {
    if (this.socket.readyState === this.socket.OPEN) this.socket.send(JSON.stringify(message));
  }

  /**
   * Maps a failure to the error reply, once, at this boundary. What the client got wrong
   * is a GatewayError by now (messages.ts, and the media layer for what mediasoup
   * refuses); anything else is a bug of ours: logged with its stack, hidden from the client.
   */
  private errorBody(err: unknown, method?: MethodName): SignalingError {
    if (err instanceof GatewayError) return { code: err.code, message: err.message };
    this.log.error({ err, method, participantId: this.member?.id }, 'signaling request failed');
    return { code: 'internal', message: 'internal error' };
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
