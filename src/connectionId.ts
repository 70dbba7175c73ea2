let last = 0;

/**
 * A connection id unique in this process. The native context table is process-wide, shared by
 * every front end and pool, so ids must never collide between them.
 */
export function nextConnectionId(): number {
  last += 1;
  return last;
}
