/**
 * Measures the largest Buffer a synchronous call allocates through Buffer's static factories
 * (alloc, allocUnsafe, allocUnsafeSlow, concat, from). The parsers allocate only through these,
 * so a parser that trusted a peer's length would show up here. Views (subarray) cost nothing
 * and are not counted.
 */

const FACTORIES = ['alloc', 'allocUnsafe', 'allocUnsafeSlow', 'concat', 'from'] as const;
type Factory = (...args: unknown[]) => Buffer;

/** Runs `fn` with the factories wrapped; returns its outcome and the largest allocation seen. */
export function largestAllocation<T>(fn: () => T): { value?: T; error?: unknown; largest: number } {
  // Buffer's factories seen as plain functions, so they can be swapped out and put back.
  const target = Buffer as unknown as Record<(typeof FACTORIES)[number], Factory>;
  const original = new Map(FACTORIES.map((name) => [name, target[name]] as const));
  let largest = 0;
  const note = (b: Buffer): Buffer => {
    if (b.length > largest) largest = b.length;
    return b;
  };
  for (const [name, f] of original) {
    target[name] = (...args: unknown[]) => note(f.apply(Buffer, args));
  }
  try {
    return { value: fn(), largest };
  } catch (error) {
    return { error, largest };
  } finally {
    for (const [name, f] of original) target[name] = f;
  }
}
