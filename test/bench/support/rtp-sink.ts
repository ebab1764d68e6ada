/**
 * Where the benchmark's phones "receive" their media: a UDP port held open by a small
 * python3 process that never reads it. The gateway's packets are sent as to a real phone
 * (the kernel queues them, then drops them once the queue is full) without costing this
 * process a core to receive them, and without the ICMP "port unreachable" work a closed
 * port would cause, which roughly doubles what each send costs the gateway on loopback.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export class RtpSink {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
  ) {}

  static async open(): Promise<RtpSink> {
    const script = [
      'import socket, sys',
      's = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)',
      "s.bind(('127.0.0.1', 0))",
      'print(s.getsockname()[1], flush=True)',
      'sys.stdin.read()',
    ].join('\n');
    const child = spawn('python3', ['-c', script], { stdio: ['pipe', 'pipe', 'inherit'] });
    const port = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) => reject(new Error(`the RTP sink exited (${code})`)));
      createInterface({ input: child.stdout! }).once('line', (line) => resolve(Number(line)));
    });
    return new RtpSink(child, port);
  }

  /** Closing its stdin ends the sink; SIGKILL if it lingers. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }
}
