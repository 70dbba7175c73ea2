/**
 * Raw-TCP Negotiate load: one full handshake per connection, as the issue asks (connect, send the
 * initiator token, read the AP-REP, finish the framing's conversation, close), with `connections`
 * such loops running concurrently and every token used at most once.
 *
 * Conversations (PROTOCOLS.md §1 and §2):
 * - `sspi`: C→S `[u32 LE N][token]`; S→C `[u32 LE N][AP-REP]`; S→C the unframed greeting
 *   `[u32 LE T][trailer][ciphertext]` until the server closes. Ok = a reply token that completes
 *   the context (see classifyAcceptorToken), then a greeting of at least 5 bytes, then EOF.
 * - `gss-sample`: C→S `11 00000000` (NOOP|CONTEXT_NEXT) and `02 <len> <token>` (CONTEXT) in one
 *   write; S→C `02 <len> <AP-REP>`; C→S `01 00000000` (NOOP: end of session); the server closes.
 *   Ok = a CONTEXT reply whose token completes the context, then EOF.
 * A failed accept is answered in the same frame type (a KRB-ERROR or SPNEGO reject, then close),
 * so the reply token's verdict is read (a few DER bytes): a replayed token counts as `rejected`. No data message is
 * exchanged (`gss-client
 *   -mcount 0`): a handshake benchmark.
 * Both need a single-leg mechanism (Kerberos, raw or through SPNEGO): a reply asking for another
 * leg counts as `reply_continue`.
 *
 * The framing is parsed here by a few lines of its own rather than the product's codecs, so a
 * codec bug cannot hide on both sides of the benchmark. Frames are encoded before the clock
 * starts and the per-handshake path allocates little: this process must not be the bottleneck
 * (its CPU per handshake is reported as `loadgenCpuS`).
 *
 * Latency is per handshake, from `connect()` to the server's close (the whole exchange), for ok
 * handshakes only, at 1 µs resolution.
 */
import net from 'node:net';
import { loadResult, makeLatencyRecorder } from './httpLoad.mjs';

/** @typedef {import('./httpLoad.mjs').LoadResult} LoadResult */

/** Largest reply frame or greeting accepted from the server (a Kerberos AP-REP is ~150 bytes). */
const MAX_REPLY = 64 * 1024;
const NOOP = Buffer.from([0x01, 0, 0, 0, 0]);

const KRB5_OID = Buffer.from([0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02]);

/**
 * Reads a DER length at `buf[i]`. @returns [length, offset of the contents] or null.
 * @param {Buffer} buf @param {number} i
 */
function derLength(buf, i) {
  if (i >= buf.length) return null;
  const b = buf[i];
  if (b < 0x80) return [b, i + 1];
  const n = b & 0x7f;
  if (n === 0 || n > 3 || i + 1 + n > buf.length) return null;
  let len = 0;
  for (let k = 0; k < n; k++) len = len * 256 + buf[i + 1 + k];
  return [len, i + 1 + n];
}

/**
 * What the acceptor's reply token says, without a GSS library: on failure the server also sends
 * a token (a KRB-ERROR, or SPNEGO's reject) in the same frame type before closing, so the frame
 * alone does not mean success.
 * - SPNEGO negTokenResp `a1 L 30 L a0 03 0a 01 <negState>`: 0 accept-completed, 1
 *   accept-incomplete, 2 reject, 3 request-mic (RFC 4178).
 * - Raw Kerberos `60 L <krb5 OID> <TOK_ID>`: 02 00 AP-REP, 03 00 KRB-ERROR (RFC 1964 §1.1).
 * @param {Buffer} t
 * @returns {'complete' | 'continue' | 'reject' | 'krbError' | 'unknown'}
 */
export function classifyAcceptorToken(t) {
  if (t[0] === 0xa1) {
    const outer = derLength(t, 1);
    if (!outer || t[outer[1]] !== 0x30) return 'unknown';
    const seq = derLength(t, outer[1] + 1);
    if (!seq) return 'unknown';
    const i = seq[1];
    if (t[i] !== 0xa0 || t[i + 1] !== 0x03 || t[i + 2] !== 0x0a || t[i + 3] !== 0x01 || i + 4 >= t.length)
      return 'unknown';
    const state = t[i + 4];
    return state === 0 ? 'complete' : state === 2 ? 'reject' : state === 1 || state === 3 ? 'continue' : 'unknown';
  }
  if (t[0] === 0x60) {
    const outer = derLength(t, 1);
    if (!outer) return 'unknown';
    const i = outer[1];
    if (i + KRB5_OID.length + 2 > t.length || !t.subarray(i, i + KRB5_OID.length).equals(KRB5_OID)) return 'unknown';
    const id = t.readUInt16BE(i + KRB5_OID.length);
    return id === 0x0200 ? 'complete' : id === 0x0300 ? 'krbError' : 'unknown';
  }
  return 'unknown';
}

/**
 * @param {'sspi' | 'gss-sample'} framing
 * @param {Buffer} token
 */
function encodeFirstWrite(framing, token) {
  if (framing === 'sspi') {
    const b = Buffer.allocUnsafe(4 + token.length);
    b.writeUInt32LE(token.length, 0);
    token.copy(b, 4);
    return b;
  }
  const b = Buffer.allocUnsafe(10 + token.length);
  b[0] = 0x11; // NOOP | CONTEXT_NEXT: context tokens follow
  b.writeUInt32BE(0, 1);
  b[5] = 0x02; // CONTEXT
  b.writeUInt32BE(token.length, 6);
  token.copy(b, 10);
  return b;
}

/**
 * One handshake on a fresh connection.
 *
 * @param {{ host: string, port: number, gss: boolean, timeoutMs: number }} o
 * @param {Buffer} firstWrite
 * @param {(kind: string | null, ms: number) => void} done  `kind` null means ok; called once.
 */
function handshake(o, firstWrite, done) {
  const t0 = performance.now();
  const hdrLen = o.gss ? 5 : 4;
  /** @type {Buffer | null} */
  let pending = null; // bytes of the reply frame received so far (rarely split)
  let gotReply = false;
  let after = 0; // bytes after the reply frame: the sspi greeting (or anything gss-sample sends)
  let connected = false;
  let finished = false;
  const socket = net.connect({ host: o.host, port: o.port, noDelay: true });
  const timer = setTimeout(() => finish('timeout'), o.timeoutMs);

  /** @param {string | null} kind */
  function finish(kind) {
    if (finished) return;
    finished = true;
    clearTimeout(timer);
    socket.destroy();
    done(kind, performance.now() - t0);
  }

  socket.on('connect', () => {
    connected = true;
  });
  socket.on('data', (/** @type {Buffer} */ chunk) => {
    if (finished) return;
    if (gotReply) {
      after += chunk.length;
      if (after > MAX_REPLY) finish('replyTooLarge');
      return;
    }
    const buf = pending ? Buffer.concat([pending, chunk]) : chunk;
    if (buf.length < hdrLen) {
      pending = buf;
      return;
    }
    const flags = o.gss ? buf[0] : 0x02;
    const len = o.gss ? buf.readUInt32BE(1) : buf.readUInt32LE(0);
    if (len > MAX_REPLY) return finish('replyTooLarge');
    if (buf.length < hdrLen + len) {
      pending = buf;
      return;
    }
    pending = null;
    // Only a non-empty CONTEXT frame can carry the AP-REP (mutual authentication), and only if
    // the token says the context is complete: a failed accept also answers with a token.
    if (flags !== 0x02 || len === 0) return finish(o.gss ? `badReply0x${flags.toString(16)}` : 'emptyReply');
    const verdict = classifyAcceptorToken(buf.subarray(hdrLen, hdrLen + len));
    if (verdict !== 'complete')
      return finish(verdict === 'reject' || verdict === 'krbError' ? `rejected` : `reply_${verdict}`);
    gotReply = true;
    after = buf.length - hdrLen - len;
    if (o.gss) socket.write(NOOP); // end of session: the server deletes the context and closes
  });
  socket.on('end', () => {
    if (!gotReply) return finish('closedBeforeReply');
    if (!o.gss && after < 5) return finish('noGreeting');
    finish(null);
  });
  socket.on('error', (/** @type {NodeJS.ErrnoException} */ err) => {
    finish(connected ? (err.code === 'ECONNRESET' ? 'connReset' : 'socketError') : 'connectError');
  });
  socket.on('close', () => finish(gotReply ? 'closedBeforeEnd' : 'closedBeforeReply'));
  socket.write(firstWrite);
}

/**
 * Drives a raw-TCP front end with one handshake per connection.
 *
 * @param {{ host: string, port: number, framing: 'sspi' | 'gss-sample', tokens: Buffer[],
 *   connections: number, durationS: number, maxRequests?: number, serverName: string,
 *   scenario: string, timeoutS?: number }} o
 *   `connections` loops run concurrently, each starting its next handshake when the previous
 *   one ends, until the tokens or `maxRequests` run out or `durationS` has passed (handshakes
 *   in flight then finish, bounded by `timeoutS`, default 5 s per handshake).
 * @returns {Promise<LoadResult>}
 */
export async function runTcpLoad(o) {
  if (o.framing !== 'sspi' && o.framing !== 'gss-sample') throw new Error(`runTcpLoad: unknown framing ${o.framing}`);
  const limit = Math.min(o.tokens.length, o.maxRequests ?? Infinity);
  if (!(limit >= 1)) throw new Error('runTcpLoad: no tokens (or maxRequests < 1)');
  if (!(o.durationS > 0)) throw new Error('runTcpLoad: durationS must be > 0');
  const connections = Math.max(1, Math.min(o.connections, limit));
  const opts = { host: o.host, port: o.port, gss: o.framing === 'gss-sample', timeoutMs: (o.timeoutS ?? 5) * 1000 };

  const frames = new Array(limit);
  for (let i = 0; i < limit; i++) frames[i] = encodeFirstWrite(o.framing, o.tokens[i]);

  let next = 0;
  let ok = 0;
  /** @type {Record<string, number>} */
  const errorKinds = {};
  const latency = makeLatencyRecorder();

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + o.durationS * 1000;
  let lastEnd = t0;

  await new Promise((resolve) => {
    let running = connections;
    const loop = () => {
      if (next >= limit || performance.now() >= deadline) {
        if (--running === 0) resolve(undefined);
        return;
      }
      const frame = frames[next];
      frames[next++] = undefined; // never sent twice, and freed as we go
      handshake(opts, frame, (kind, ms) => {
        lastEnd = performance.now();
        if (kind === null) {
          ok++;
          latency.record(ms);
        } else {
          errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
        }
        // Next handshake from a fresh stack, so a burst of synchronous failures cannot recurse.
        setImmediate(loop);
      });
    };
    for (let i = 0; i < connections; i++) loop();
  });

  const cpu = process.cpuUsage(cpu0);
  return loadResult(o, { connections, ok, errorKinds, activeMs: lastEnd - t0, latency, cpu });
}
