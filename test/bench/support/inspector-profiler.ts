/**
 * CPU profiles of a child Node process over exactly the window a benchmark chooses, and
 * its memory when the benchmark asks, through the V8 inspector (the child runs with
 * --inspect=127.0.0.1:0; the Chrome DevTools protocol over a WebSocket). `--cpu-prof`
 * would profile the process's whole life, start-up included.
 */
import { WebSocket } from 'ws';

export class InspectorProfiler {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (result: unknown) => void; reject: (err: Error) => void }>();

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString('utf8')) as { id?: number; result?: unknown; error?: { message: string } };
      if (message.id === undefined) return;
      const waiter = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      if (message.error) waiter?.reject(new Error(message.error.message));
      else waiter?.resolve(message.result);
    });
  }

  /** Connects to the inspector at `url` (ws://127.0.0.1:<port>/<uuid>, as the child prints it). */
  static async connect(url: string, samplingIntervalUs = 500): Promise<InspectorProfiler> {
    const socket = new WebSocket(url);
    await new Promise<void>((resolve, reject) => {
      socket.once('open', () => resolve());
      socket.once('error', reject);
    });
    const profiler = new InspectorProfiler(socket);
    await profiler.send('Profiler.enable');
    await profiler.send('Profiler.setSamplingInterval', { interval: samplingIntervalUs });
    return profiler;
  }

  async start(): Promise<void> {
    await this.send('Profiler.start');
  }

  /** Stops and returns the profile (the .cpuprofile JSON). */
  async stop(): Promise<unknown> {
    const { profile } = (await this.send('Profiler.stop')) as { profile: unknown };
    return profile;
  }

  /** The process's main-thread memory (`process.memoryUsage()`), in bytes. */
  memoryUsage(): Promise<NodeJS.MemoryUsage> {
    return this.evaluate<NodeJS.MemoryUsage>('process.memoryUsage()');
  }

  /** Evaluates `expression` on the process's main thread; its value travels as JSON. */
  async evaluate<T>(expression: string): Promise<T> {
    const { result, exceptionDetails } = (await this.send('Runtime.evaluate', { expression: `JSON.stringify(${expression})`, returnByValue: true })) as {
      result: { value?: string };
      exceptionDetails?: { exception?: { description?: string }; text: string };
    };
    if (exceptionDetails) throw new Error(exceptionDetails.exception?.description ?? exceptionDetails.text);
    return JSON.parse(result.value ?? 'null') as T;
  }

  /** A full garbage collection of the main thread's heap. */
  async collectGarbage(): Promise<void> {
    await this.send('HeapProfiler.collectGarbage');
  }

  close(): void {
    this.socket.close();
  }

  private send(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }
}
