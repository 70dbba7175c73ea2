/**
 * Fixed-field layouts for the hand-off's hot values: an accept call, and an accept leg's
 * continue and complete results as the worker returns them. JSON (wireCodec) cost ~3–7 µs per
 * value each way for these on an idle core, more than the queue itself; these layouts are read
 * and written field by field. A value with anything beyond the fields below (a slot, channel
 * bindings, a local name, a delegated credential, a replay tag, a failed seal, a field added
 * later) has no fixed layout and goes as JSON: the fast path can never drop a field.
 *
 * Every layout starts with its kind byte (wireFrames: 0 is JSON); integers little-endian.
 *   call      1 | u8 bits (1 releaseAfter, 2 sealOnComplete) | f64 id | u32 n token | [u32 n seal]
 *   continue  2 | u32 workerThreadId | u32 n output
 *   complete  3 | u8 mech | u8 bits (1 spnego, 2 no lifetime, 4 sealed, 8 PAC) | u32 GSS flag
 *             bits | u32 workerThreadId | f64 lifetime | u32 n principal (UTF-8) | u32 n output
 *             | [u32 n trailer | u32 n ciphertext] | [the PAC: workers/pacWire.ts]
 * A complete result's flags travel as their GSS bits alone, read back with flagsFromBits (the
 * one mapping; the addon made them with it): flags that say otherwise go as JSON.
 */
import { flagsFromBits } from '../src/native.js';
import { pacLayout, readPac, writePac, type PacWire } from './pacWire.js';
import { field, isU32, keysWithin } from './wireShape.js';

export const KIND_JSON = 0;
const KIND_CALL = 1;
const KIND_CONTINUE = 2;
const KIND_COMPLETE = 3;

const MECHS = ['krb5', 'ntlmssp', 'unknown'] as const;

/** A value that has a fixed layout, with what writing it needs. */
export interface FixedValue {
  kind: number;
  value: object;
  /** The most bytes it takes. */
  bound: number;
  /** A complete result's PAC, checked and ready to write. */
  pac?: PacWire;
}

const CALL_KEYS = new Set(['op', 'id', 'token', 'releaseAfter', 'sealOnComplete']);
const CONTINUE_KEYS = new Set(['ok', 'status', 'output', 'op', 'workerThreadId']);
const COMPLETE_KEYS = new Set([
  'ok',
  'status',
  'output',
  'principal',
  'mech',
  'spnego',
  'flags',
  'lifetime',
  'op',
  'workerThreadId',
  'sealed',
  'pac',
]);
const SEALED_KEYS = new Set(['ok', 'trailer', 'ciphertext']);

/** `value`'s fixed layout, or undefined when it has none (it goes as JSON). */
export function fixedLayout(value: object): FixedValue | undefined {
  if (field(value, 'op') !== 'accept') return undefined;
  const output = field(value, 'output');
  if (output === undefined) {
    const token = field(value, 'token');
    const seal = field(value, 'sealOnComplete');
    const release = field(value, 'releaseAfter');
    if (!keysWithin(value, CALL_KEYS) || typeof field(value, 'id') !== 'number') return undefined;
    if (!(token instanceof Uint8Array) || (release !== undefined && release !== true)) return undefined;
    if (seal !== undefined && !(seal instanceof Uint8Array)) return undefined;
    return { kind: KIND_CALL, value, bound: 18 + token.byteLength + (seal === undefined ? 0 : 4 + seal.byteLength) };
  }
  if (!(output instanceof Uint8Array) || field(value, 'ok') !== true || !isU32(field(value, 'workerThreadId'))) {
    return undefined;
  }
  const status = field(value, 'status');
  if (status === 'continue') {
    return keysWithin(value, CONTINUE_KEYS) ? { kind: KIND_CONTINUE, value, bound: 9 + output.byteLength } : undefined;
  }
  if (status !== 'complete' || !keysWithin(value, COMPLETE_KEYS)) return undefined;
  const principal = field(value, 'principal');
  const mech = field(value, 'mech');
  const lifetime = field(value, 'lifetime');
  const flags = field(value, 'flags');
  if (typeof principal !== 'string' || typeof field(value, 'spnego') !== 'boolean') return undefined;
  if (!MECHS.some((m) => m === mech) || (lifetime !== null && typeof lifetime !== 'number')) return undefined;
  if (typeof flags !== 'object' || flags === null || !sameFlags(flags)) return undefined;
  let bound = 32 + principal.length * 3 + output.byteLength;
  const sealed = field(value, 'sealed');
  if (sealed !== undefined) {
    if (typeof sealed !== 'object' || sealed === null || !keysWithin(sealed, SEALED_KEYS)) return undefined;
    const trailer = field(sealed, 'trailer');
    const ciphertext = field(sealed, 'ciphertext');
    if (field(sealed, 'ok') !== true || !(trailer instanceof Uint8Array) || !(ciphertext instanceof Uint8Array)) {
      return undefined;
    }
    bound += 8 + trailer.byteLength + ciphertext.byteLength;
  }
  const pac = field(value, 'pac');
  if (pac === undefined) return { kind: KIND_COMPLETE, value, bound };
  const pacWire = pacLayout(pac);
  return pacWire === undefined ? undefined : { kind: KIND_COMPLETE, value, bound: bound + pacWire.bound, pac: pacWire };
}

/** `flags` is what flagsFromBits makes of its `bits`, key for key. */
function sameFlags(flags: object): boolean {
  const bits = field(flags, 'bits');
  if (!isU32(bits)) return false;
  const derived = flagsFromBits(bits);
  const keys = Object.keys(flags);
  if (keys.length !== Object.keys(derived).length) return false;
  for (const k of keys) if (field(flags, k) !== field(derived, k)) return false;
  return true;
}

function putBytes(out: Buffer, at: number, bytes: unknown): number {
  const b = bytes instanceof Uint8Array ? bytes : new Uint8Array(0);
  out.writeUInt32LE(b.byteLength, at);
  out.set(b, at + 4);
  return at + 4 + b.byteLength;
}

/** Writes `f` at `at` (room for f.bound); returns the bytes written. */
export function writeFixed(f: FixedValue, out: Buffer, at: number): number {
  const v = f.value;
  out[at] = f.kind;
  let p = at + 1;
  if (f.kind === KIND_CALL) {
    const seal = field(v, 'sealOnComplete');
    out[p++] = (field(v, 'releaseAfter') === true ? 1 : 0) | (seal !== undefined ? 2 : 0);
    p = out.writeDoubleLE(Number(field(v, 'id')), p);
    p = putBytes(out, p, field(v, 'token'));
    if (seal !== undefined) p = putBytes(out, p, seal);
    return p - at;
  }
  if (f.kind === KIND_CONTINUE) {
    p = out.writeUInt32LE(Number(field(v, 'workerThreadId')), p);
    return putBytes(out, p, field(v, 'output')) - at;
  }
  const flags = field(v, 'flags');
  const lifetime = field(v, 'lifetime');
  const sealed = field(v, 'sealed');
  out[p++] = MECHS.findIndex((m) => m === field(v, 'mech'));
  out[p++] =
    (field(v, 'spnego') === true ? 1 : 0) |
    (lifetime === null ? 2 : 0) |
    (sealed !== undefined ? 4 : 0) |
    (f.pac !== undefined ? 8 : 0);
  p = out.writeUInt32LE(typeof flags === 'object' && flags !== null ? Number(field(flags, 'bits')) : 0, p);
  p = out.writeUInt32LE(Number(field(v, 'workerThreadId')), p);
  p = out.writeDoubleLE(typeof lifetime === 'number' ? lifetime : 0, p);
  const principalBytes = out.write(String(field(v, 'principal')), p + 4);
  out.writeUInt32LE(principalBytes, p);
  p = putBytes(out, p + 4 + principalBytes, field(v, 'output'));
  if (typeof sealed === 'object' && sealed !== null) {
    p = putBytes(out, p, field(sealed, 'trailer'));
    p = putBytes(out, p, field(sealed, 'ciphertext'));
  }
  if (f.pac !== undefined) p = writePac(f.pac, out, p);
  return p - at;
}

/** The value writeFixed wrote at `at` (kind byte there, not KIND_JSON); byte arrays are views of `buf`. */
export function readFixed(buf: Buffer, at: number): object {
  const kind = buf[at];
  let p = at + 1;
  const bytes = (): Buffer => {
    const n = buf.readUInt32LE(p);
    const b = buf.subarray(p + 4, p + 4 + n);
    p += 4 + n;
    return b;
  };
  if (kind === KIND_CALL) {
    const bits = buf[p++] ?? 0;
    const id = buf.readDoubleLE(p);
    p += 8;
    const call: { op: 'accept'; id: number; token: Buffer; releaseAfter?: true; sealOnComplete?: Buffer } = {
      op: 'accept',
      id,
      token: bytes(),
    };
    if ((bits & 1) !== 0) call.releaseAfter = true;
    if ((bits & 2) !== 0) call.sealOnComplete = bytes();
    return call;
  }
  if (kind === KIND_CONTINUE) {
    const workerThreadId = buf.readUInt32LE(p);
    p += 4;
    return { ok: true, status: 'continue', output: bytes(), op: 'accept', workerThreadId };
  }
  if (kind !== KIND_COMPLETE) throw new RangeError(`hand-off frame of unknown kind ${String(kind)}`);
  const mech = MECHS[buf[p++] ?? 2] ?? 'unknown';
  const bits = buf[p++] ?? 0;
  const flags = flagsFromBits(buf.readUInt32LE(p));
  const workerThreadId = buf.readUInt32LE(p + 4);
  const lifetime = (bits & 2) !== 0 ? null : buf.readDoubleLE(p + 8);
  p += 16;
  const principalBytes = buf.readUInt32LE(p);
  const principal = buf.toString('utf8', p + 4, p + 4 + principalBytes);
  p += 4 + principalBytes;
  const output = bytes();
  const result: Record<string, unknown> = {
    ok: true,
    status: 'complete',
    output,
    principal,
    mech,
    spnego: (bits & 1) !== 0,
    flags,
    lifetime,
    op: 'accept',
    workerThreadId,
  };
  if ((bits & 4) !== 0) result['sealed'] = { ok: true, trailer: bytes(), ciphertext: bytes() };
  if ((bits & 8) !== 0) result['pac'] = readPac(buf, p).pac;
  return result;
}
