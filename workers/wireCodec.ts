/**
 * How pool calls and their results cross the native hand-off queue (src/pool/NativeHandoff.ts)
 * as bytes: the value as JSON with every byte array lifted out and appended raw behind it.
 * Several times cheaper than v8.serialize (whose typed-array hooks run in JS) for these small
 * objects. Plain data only: objects, arrays, strings, numbers, booleans, null and Uint8Array
 * (decoded as Buffer views of the received bytes).
 *
 * Layout: u32le header | JSON | byte arrays in the order the JSON refers to them ({"$b": n}).
 * The header is the JSON's length, with its top bit set when byte arrays follow: a value
 * without any (most results' fields, a no-op) is decoded without walking it.
 */

const HAS_BYTES = 0x8000_0000;

/** A value's encoding before it is written: its JSON and its lifted byte arrays. */
export interface WireParts {
  json: string;
  bytes: Uint8Array[];
  /** The byte arrays' total length. */
  bytesLength: number;
}

/** Splits `value`, which it consumes: its byte arrays are replaced in place by their markers. */
export function wireParts(value: object): WireParts {
  const bytes: Uint8Array[] = [];
  lift(value, bytes);
  let bytesLength = 0;
  for (const p of bytes) bytesLength += p.byteLength;
  return { json: JSON.stringify(value), bytes, bytesLength };
}

/** The most bytes `parts` can take (UTF-8 is at most 3 bytes per UTF-16 unit). */
export function wireBound(parts: WireParts): number {
  return 4 + parts.json.length * 3 + parts.bytesLength;
}

/** Writes `parts` at `at` in `out` (room for wireBound(parts)); returns the bytes written. */
export function writeWire(parts: WireParts, out: Buffer, at: number): number {
  const jsonBytes = out.write(parts.json, at + 4);
  out.writeUInt32LE(parts.bytes.length > 0 ? (jsonBytes | HAS_BYTES) >>> 0 : jsonBytes, at);
  let end = at + 4 + jsonBytes;
  for (const p of parts.bytes) {
    out.set(p, end);
    end += p.byteLength;
  }
  return end - at;
}

/** Encodes `value`, which it consumes (see wireParts). */
export function encodeWire(value: object): Buffer {
  const parts = wireParts(value);
  const out = Buffer.allocUnsafe(wireBound(parts));
  return out.subarray(0, writeWire(parts, out, 0));
}

/** The value encodeWire encoded; its byte arrays are views of `bytes`. */
export function decodeWire(bytes: Uint8Array): unknown {
  return decodeWireAt(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0);
}

/** The value written at `at` in `buf` (writeWire); its byte arrays are views of `buf`. */
export function decodeWireAt(buf: Buffer, at: number): unknown {
  const header = buf.readUInt32LE(at);
  const jsonBytes = (header & ~HAS_BYTES) >>> 0;
  const value: unknown = JSON.parse(buf.toString('utf8', at + 4, at + 4 + jsonBytes));
  if ((header & HAS_BYTES) !== 0 && typeof value === 'object' && value !== null) {
    drop(value, buf, { at: at + 4 + jsonBytes });
  }
  return value;
}

function lift(o: object, parts: Uint8Array[]): void {
  for (const k of Object.keys(o)) {
    const v: unknown = Reflect.get(o, k);
    if (v === null || typeof v !== 'object') continue;
    if (v instanceof Uint8Array) {
      parts.push(v);
      Reflect.set(o, k, { $b: v.byteLength });
    } else {
      lift(v, parts);
    }
  }
}

function drop(o: object, buf: Buffer, cursor: { at: number }): void {
  for (const k of Object.keys(o)) {
    const v: unknown = Reflect.get(o, k);
    if (v === null || typeof v !== 'object') continue;
    const n: unknown = Reflect.get(v, '$b');
    if (typeof n === 'number') {
      Reflect.set(o, k, buf.subarray(cursor.at, cursor.at + n));
      cursor.at += n;
    } else {
      drop(v, buf, cursor);
    }
  }
}
