/** Where the compiled worker fixture is (test/fixtures/faultWorker.ts), for `workerFile` options. */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import type { AuthPool } from '../../src/pool/AuthPool.js';

export const FAULT_WORKER = fileURLToPath(new URL('../fixtures/faultWorker.js', import.meta.url));

/**
 * Holds every one of the pool's `threads` workers until `release()`, so the next task waits in
 * the queue however slow the machine (a timed stall can run out before the test looks). The
 * thread ids come from short stalls; each hold lands on a free thread (stallWorkerWhile).
 * `release()` may be called again (in a `finally`, say): later calls wait for the same holds.
 */
export async function holdEveryWorker(pool: AuthPool, threads: number): Promise<{ release: () => Promise<void> }> {
  const ids = new Set<number>();
  for (let i = 0; i < 20 * threads && ids.size < threads; i++) ids.add(await pool.stallWorker(0));
  assert.equal(ids.size, threads, `${threads} worker threads`);
  const holds: Array<{ release: () => void; done: Promise<void> }> = [];
  for (const id of ids) holds.push(await pool.stallWorkerWhile(id));
  return {
    release: async () => {
      for (const h of holds) h.release();
      await Promise.all(holds.map((h) => h.done.catch(() => undefined)));
    },
  };
}
