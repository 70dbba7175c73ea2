/**
 * Bounded polling: how a test waits for a state it cannot await (a counter, a log line, a
 * process leaving /proc). Every wait has a bound, so a server that never gets there fails the
 * test saying what it waited for, instead of hanging it.
 */
import assert from 'node:assert/strict';

/**
 * Resolves once `cond()` holds (it may be async), checking every `intervalMs`. After
 * `timeoutMs` fails the test with "timed out after <timeoutMs> ms waiting for <what>"; `what`
 * may be a function, so the message can show the state at the time of the failure.
 */
export async function waitUntil(
  cond: () => boolean | Promise<boolean>,
  what: string | (() => string),
  timeoutMs = 5000,
  intervalMs = 10,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
