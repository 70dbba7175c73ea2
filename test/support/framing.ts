/**
 * Shared by the framing tests: error matchers and a seeded PRNG for property tests.
 */
import { FramingError, type NegotiateErrorCode } from '../../src/errors.js';

/** An assert.throws matcher for a FramingError with `code`. */
export function framingError(code: NegotiateErrorCode): (error: unknown) => boolean {
  return (error) => error instanceof FramingError && error.code === code;
}

/** Deterministic PRNG (mulberry32) so property failures reproduce from the seed. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
