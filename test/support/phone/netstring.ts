/** Netstrings (`<length>:<bytes>,`), the framing of baresip's ctrl_tcp module. */

export function encodeNetstring(payload: string): Buffer {
  const body = Buffer.from(payload, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length}:`, 'ascii'), body, Buffer.from(',', 'ascii')]);
}

export class NetstringDecoder {
  private buffered = Buffer.alloc(0);

  /** The complete payloads the stream holds so far; partial ones wait for more bytes. */
  push(chunk: Buffer): string[] {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    const payloads: string[] = [];
    for (;;) {
      const colon = this.buffered.indexOf(':');
      if (colon === -1) break;
      const prefix = this.buffered.toString('ascii', 0, colon);
      if (!/^\d+$/.test(prefix)) throw new Error(`bad netstring length prefix: ${JSON.stringify(prefix.slice(0, 20))}`);
      const end = colon + 1 + Number(prefix);
      if (this.buffered.length < end + 1) break;
      if (this.buffered[end] !== 0x2c) throw new Error('netstring not terminated by a comma');
      payloads.push(this.buffered.toString('utf8', colon + 1, end));
      this.buffered = this.buffered.subarray(end + 1);
    }
    return payloads;
  }
}
