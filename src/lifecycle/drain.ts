/**
 * Graceful shutdown's wait, shared by every front end's close(): the work in flight gets up to
 * `graceMs` to settle, then the caller closes what is left.
 */

/** Resolves when every promise in `work` has settled or `graceMs` has passed, whichever is first. */
export async function settleWithin(work: Iterable<Promise<unknown>>, graceMs: number): Promise<void> {
  const pending = [...work];
  if (pending.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled(pending),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    }),
  ]);
  clearTimeout(timer);
}
