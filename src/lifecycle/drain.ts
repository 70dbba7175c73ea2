/**
 * Graceful shutdown's wait, shared by every front end's close(): the work in flight gets up to
 * `graceMs` to settle, then the caller closes what is left.
 */

/**
 * Resolves when `work` is empty or `graceMs` has passed, whichever is first. `work` may be a live
 * collection: what is added while waiting (a request arriving on a keep-alive connection opened
 * before the listener closed) is waited for too, so the caller never closes a connection under it.
 */
export async function settleWithin(work: Iterable<Promise<unknown>>, graceMs: number): Promise<void> {
  const awaited = new Set<Promise<unknown>>();
  const unseen = (): Promise<unknown>[] => [...work].filter((p) => !awaited.has(p));
  let pending = unseen();
  if (pending.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<true>((resolve) => {
    timer = setTimeout(() => resolve(true), graceMs);
  });
  try {
    // Each pass waits for what it has not waited for yet: a settled promise a collection still
    // holds (an array, or a set whose delete has not run yet) is not waited for again.
    while (pending.length > 0) {
      for (const p of pending) awaited.add(p);
      const settled = Promise.allSettled(pending).then(() => false as const);
      if (await Promise.race([settled, expired])) return;
      pending = unseen();
    }
  } finally {
    clearTimeout(timer);
  }
}
