/**
 * The child processes tests start (softphones, drachtio-server): how each ended, once it
 * has, and until then a kill when the test process exits, so a crashed or aborted test
 * leaves none behind.
 */
import type { ChildProcess } from 'node:child_process';

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export class ChildExit {
  /** Exit code, signal or spawn error; undefined while the process runs. */
  code: number | string | undefined;
  readonly done: Promise<void>;

  constructor(child: ChildProcess) {
    running.add(child);
    this.done = new Promise((resolve) => {
      const ended = (how: number | string) => {
        this.code ??= how;
        running.delete(child);
        resolve();
      };
      child.once('exit', (code, signal) => ended(signal ?? code ?? 'unknown'));
      child.once('error', (error) => ended(error.message));
    });
  }
}
