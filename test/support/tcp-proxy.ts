/**
 * A TCP proxy on a free loopback port that forwards every connection to one target and
 * can cut the connections it carries while still accepting new ones: a lost link between
 * two processes that both stay up.
 */
import { type Server, type Socket, createConnection, createServer } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** Destroys both sides of every connection carried so far. */
  cut(): void;
  /** true: new connections are dropped at once (with cut(), the target is unreachable); false: forwarded again. */
  refuse(refusing: boolean): void;
  /** Cuts instead of forwarding the first data from the target that `match` accepts. */
  cutOnReply(match: (data: string) => boolean): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const carried = new Set<Socket>();
  let cutOn: ((data: string) => boolean) | undefined;
  let refusing = false;
  const server: Server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = createConnection(target);
    for (const [socket, other] of [[client, upstream], [upstream, client]] as const) {
      carried.add(socket);
      socket.on('close', () => {
        carried.delete(socket);
        other.destroy();
      });
      socket.on('error', () => socket.destroy());
    }
    client.pipe(upstream);
    upstream.on('data', (data: Buffer) => {
      if (cutOn?.(data.toString('utf8'))) {
        cutOn = undefined;
        cut();
        return;
      }
      client.write(data);
    });
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', resolve));
  const cut = () => {
    for (const socket of [...carried]) socket.destroy();
  };
  return {
    port: (server.address() as { port: number }).port,
    cut,
    refuse: (on) => (refusing = on),
    cutOnReply: (match) => (cutOn = match),
    close: () =>
      new Promise<void>((resolve) => {
        cut();
        server.close(() => resolve());
      }),
  };
}
