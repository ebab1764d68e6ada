/**
 * Interim meeting → phone audio for a phone that speaks opus, until the mix-minus mixer
 * lands: the phone hears the meeting's dominant speaker, forwarded as-is through a
 * consumer on the call's PlainTransport and switched when the ActiveSpeakerObserver
 * names someone else. Until anyone is dominant it hears the most recent opus producer.
 */
import type { types } from 'mediasoup';
import type { Logger } from '../logger.js';
import type { Room, RoomProducer } from './room.js';
import type { RoomMember } from './room-member.js';

export class DominantSpeakerFeed {
  private consumer: types.Consumer | undefined;
  private switching: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly onChange = () => this.follow();

  constructor(
    private readonly room: Room,
    private readonly listener: RoomMember,
    private readonly transportId: string,
    private readonly log: Logger,
  ) {
    room.on('dominantSpeaker', this.onChange);
    room.on('producerOpened', this.onChange);
    this.follow();
  }

  /** The producer currently heard, if any. */
  get producerId(): string | undefined {
    return this.consumer?.producerId;
  }

  close(): void {
    this.closed = true;
    this.room.off('dominantSpeaker', this.onChange);
    this.room.off('producerOpened', this.onChange);
    this.consumer?.close();
  }

  private follow(): void {
    this.switching = this.switching.then(() => this.switchTo(this.choose())).catch((err: Error) => {
      this.log.warn({ reason: err.message }, 'could not switch the speaker the phone hears');
    });
  }

  private choose(): RoomProducer | undefined {
    const others = this.room.producerEntries(this.listener.id).filter(({ producer }) => this.canHear(producer));
    const dominant = this.room.dominantSpeaker;
    if (dominant && others.includes(dominant)) return dominant;
    const current = others.find(({ producer }) => producer.id === this.producerId);
    return current ?? others.at(-1);
  }

  private canHear(producer: types.Producer): boolean {
    return !producer.closed && producer.rtpParameters.codecs[0]?.mimeType.toLowerCase() === 'audio/opus';
  }

  private async switchTo(target: RoomProducer | undefined): Promise<void> {
    if (this.closed || target?.producer.id === this.producerId) return;
    this.consumer?.close();
    this.consumer = undefined;
    if (!target) return;
    const consumer = await this.listener.consume(this.transportId, target.producer.id);
    if (this.closed) return consumer.close();
    consumer.once('producerclose', this.onChange);
    this.consumer = consumer;
    await consumer.resume();
    this.log.debug({ participantId: target.owner.id }, 'phone now hears this participant');
  }
}
