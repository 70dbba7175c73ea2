/**
 * The checks a value passes before it takes one of the hand-off's fixed layouts
 * (workers/acceptWire.ts, workers/pacWire.ts): anything they do not vouch for goes as JSON.
 */

export function field(o: object, k: string): unknown {
  return Reflect.get(o, k);
}

export function isU32(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff_ffff;
}

/** `o` has no key outside `allowed`. */
export function keysWithin(o: object, allowed: ReadonlySet<string>): boolean {
  for (const k of Object.keys(o)) if (!allowed.has(k)) return false;
  return true;
}
