import { setTimeout as sleep } from 'node:timers/promises';

/** Polls until the condition holds; throws naming `what` when it has not within timeoutMs. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 5000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}
