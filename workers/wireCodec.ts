/**
 * How pool calls and their results cross the native hand-off queue (src/pool/NativeHandoff.ts)
 * as one buffer each: the value as JSON with every byte array lifted out and appended raw
 * behind it. Several times cheaper than v8.serialize (whose typed-array hooks run in JS) for
 * these small objects. Plain data only: objects, arrays, strings, numbers, booleans, null and
 * Uint8Array (decoded as Buffer views of the received bytes).
 *
 * Layout: u32le JSON length | JSON | byte arrays in the order the JSON refers to them ({"$b": n}).
 */

/** Encodes `value`, which it consumes: its byte arrays are replaced in place by their markers. */
export function encodeWire(value: object): Buffer {
  const parts: Uint8Array[] = [];
  lift(value, parts);
  const json = JSON.stringify(value);
  let total = 0;
  for (const p of parts) total += p.byteLength;
  const jsonBytes = Buffer.byteLength(json);
  const out = Buffer.allocUnsafe(4 + jsonBytes + total);
  out.writeUInt32LE(jsonBytes, 0);
  out.write(json, 4);
  let at = 4 + jsonBytes;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** The value encodeWire encoded; its byte arrays are views of `bytes`. */
export function decodeWire(bytes: Uint8Array): unknown {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const jsonBytes = buf.readUInt32LE(0);
  const value: unknown = JSON.parse(buf.toString('utf8', 4, 4 + jsonBytes));
  if (typeof value === 'object' && value !== null) drop(value, buf, { at: 4 + jsonBytes });
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
