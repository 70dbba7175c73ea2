/**
 * Measures the largest Buffer a synchronous call allocates through Buffer's static factories
 * (alloc, allocUnsafe, allocUnsafeSlow, concat, from). The parsers allocate only through these,
 * so a parser that trusted a peer's length would show up here. Views (subarray) cost nothing
 * and are not counted.
 */

type Factories = Pick<typeof Buffer, 'alloc' | 'allocUnsafe' | 'allocUnsafeSlow' | 'concat' | 'from'>;

/** Runs `fn` with the factories wrapped; returns its outcome and the largest allocation seen. */
export function largestAllocation<T>(fn: () => T): { value?: T; error?: unknown; largest: number } {
  const original: Factories = {
    alloc: Buffer.alloc,
    allocUnsafe: Buffer.allocUnsafe,
    allocUnsafeSlow: Buffer.allocUnsafeSlow,
    concat: Buffer.concat,
    from: Buffer.from,
  };
  let largest = 0;
  const note = (b: Buffer): Buffer => {
    if (b.length > largest) largest = b.length;
    return b;
  };
  const target = Buffer as unknown as Record<keyof Factories, (...args: unknown[]) => Buffer>;
  for (const name of Object.keys(original) as Array<keyof Factories>) {
    const f = original[name] as unknown as (...args: unknown[]) => Buffer;
    target[name] = (...args: unknown[]) => note(f.apply(Buffer, args));
  }
  try {
    return { value: fn(), largest };
  } catch (error) {
    return { error, largest };
  } finally {
    Object.assign(Buffer, original);
  }
}
