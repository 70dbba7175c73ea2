// The soak's conversations, one per connection, each a real client behaviour against the raw-TCP
// front ends (PROTOCOLS.md §1 and §2). Each resolves with what happened ('ok', 'rejected' or
// 'abandoned') or throws when the server did something a correct server must not (a failed
// handshake for a good token, a session for a bad one, a hang).
import { randomBytes } from 'node:crypto';
import { isApRep } from '../../tools/tokens.mjs';
import { GssFlag, WireConn, gssFrame, sspiFrame } from './wire.mjs';

/**
 * @typedef {object} ScenarioContext
 * @property {{ sspi: number, gss: number }} ports
 * @property {{ spnego: import('./tokenSupply.mjs').TokenSupply, krb5: import('./tokenSupply.mjs').TokenSupply }} tokens
 * @property {import('./ntlmInitiator.mjs').NtlmInitiators | undefined} ntlm
 * @property {Buffer[]} accepted  tokens the server accepted once: replay material (bounded ring)
 * @property {number} timeoutMs   per step
 */

/** @typedef {'ok' | 'rejected' | 'abandoned'} Outcome */

const REPLAY_RING = 256;

/** @param {ScenarioContext} ctx @param {Buffer} token */
function remember(ctx, token) {
  if (ctx.accepted.length >= REPLAY_RING) ctx.accepted.splice(0, ctx.accepted.length - REPLAY_RING + 1);
  ctx.accepted.push(token);
}

/**
 * The sspi greeting `[u32 LE T][T bytes trailer][ciphertext]`: sealed, so only its shape is
 * checked here (the integration tests decrypt it).
 * @param {Buffer} bytes
 */
function isGreeting(bytes) {
  if (bytes.length < 4) return false;
  const t = bytes.readUInt32LE(0);
  return t > 0 && 4 + t < bytes.length;
}

/**
 * A Kerberos handshake with a fresh token over the sspi framing: AP-REP, greeting, close.
 * @param {ScenarioContext} ctx @param {'spnego' | 'krb5'} mech
 * @returns {Promise<Outcome>}
 */
export async function kerberosSspi(ctx, mech) {
  const token = await ctx.tokens[mech].take();
  const c = await WireConn.connect(ctx.ports.sspi, ctx.timeoutMs);
  try {
    c.write(sspiFrame(token));
    const reply = await c.readSspiFrame(ctx.timeoutMs);
    if (!reply) throw new Error(`sspi ${mech}: closed (${c.ended}) without a reply`);
    if (!isApRep(reply)) throw new Error(`sspi ${mech}: the reply does not complete the handshake`);
    const rest = await c.readToEnd(ctx.timeoutMs);
    if (rest.how !== 'eof' || !isGreeting(rest.bytes)) throw new Error(`sspi ${mech}: no greeting (${rest.how}, ${rest.bytes.length} bytes)`);
    remember(ctx, token);
    return 'ok';
  } finally {
    c.destroy();
  }
}

/**
 * A Kerberos handshake over gss-sample, as `gss-client -mcount 0`: NOOP|CONTEXT_NEXT and the
 * token, the AP-REP, the closing NOOP, then the server closes.
 * @param {ScenarioContext} ctx @param {'spnego' | 'krb5'} mech
 * @returns {Promise<Outcome>}
 */
export async function kerberosGssSample(ctx, mech) {
  const token = await ctx.tokens[mech].take();
  const c = await WireConn.connect(ctx.ports.gss, ctx.timeoutMs);
  try {
    c.write(Buffer.concat([gssFrame(GssFlag.NOOP | GssFlag.CONTEXT_NEXT), gssFrame(GssFlag.CONTEXT, token)]));
    const reply = await c.readGssFrame(ctx.timeoutMs);
    if (!reply) throw new Error(`gss-sample ${mech}: closed (${c.ended}) without a reply`);
    if (reply.flags !== GssFlag.CONTEXT || !isApRep(reply.body)) throw new Error(`gss-sample ${mech}: the reply does not complete the handshake`);
    c.write(gssFrame(GssFlag.NOOP));
    const rest = await c.readToEnd(ctx.timeoutMs);
    if (rest.bytes.length !== 0) throw new Error(`gss-sample ${mech}: ${rest.bytes.length} unexpected bytes after the closing NOOP`);
    remember(ctx, token);
    return 'ok';
  } finally {
    c.destroy();
  }
}

/**
 * NTLM (raw: 3 legs, or inside SPNEGO: 4) over gss-sample with a live initiator, then a wrapped
 * message whose MIC the initiator verifies: the session really protects messages.
 * @param {ScenarioContext} ctx @param {'ntlm' | 'spnego-ntlm'} mech
 * @returns {Promise<Outcome>}
 */
export async function ntlmGssSample(ctx, mech) {
  const ntlm = ctx.ntlm;
  if (!ntlm) throw new Error('NTLM scenario without an NTLM initiator');
  const id = ntlm.newContext();
  const c = await WireConn.connect(ctx.ports.gss, ctx.timeoutMs);
  try {
    c.write(gssFrame(GssFlag.NOOP | GssFlag.CONTEXT_NEXT));
    let out = await ntlm.step(id, mech);
    for (let legs = 0; !out.complete; legs++) {
      if (legs > 4) throw new Error(`${mech}: more legs than NTLM has`);
      c.write(gssFrame(GssFlag.CONTEXT, out.token));
      const reply = await c.readGssFrame(ctx.timeoutMs);
      if (!reply || reply.flags !== GssFlag.CONTEXT) throw new Error(`${mech}: no context reply (${c.ended ?? 'bad flags'})`);
      out = await ntlm.step(id, mech, reply.body);
    }
    // Raw NTLM's AUTHENTICATE completes the initiator first: the server still needs it.
    if (out.token.length > 0) c.write(gssFrame(GssFlag.CONTEXT, out.token));
    const message = randomBytes(32);
    c.write(gssFrame(GssFlag.DATA | GssFlag.WRAPPED | GssFlag.ENCRYPTED | GssFlag.SEND_MIC, await ntlm.wrap(id, message)));
    const mic = await c.readGssFrame(ctx.timeoutMs);
    if (!mic || mic.flags !== GssFlag.MIC) throw new Error(`${mech}: no MIC reply (${c.ended ?? 'bad flags'})`);
    await ntlm.verifyMic(id, message, mic.body);
    c.write(gssFrame(GssFlag.NOOP));
    await c.readToEnd(ctx.timeoutMs);
    return 'ok';
  } finally {
    c.destroy();
    await ntlm.close(id);
  }
}

/**
 * Random bytes as a token (first byte 0xa5, so no mechanism can take it for one of its own);
 * the server must close without a session.
 * @param {ScenarioContext} ctx @param {'sspi' | 'gss'} framing
 * @returns {Promise<Outcome>}
 */
export async function garbageToken(ctx, framing) {
  const body = randomBytes(16 + Math.floor(Math.random() * 240));
  body[0] = 0xa5;
  return expectRefusal(ctx, framing, body, 'garbage');
}

/**
 * A token the server already accepted, sent again: a replay, which must be refused.
 * @param {ScenarioContext} ctx @param {'sspi' | 'gss'} framing
 * @returns {Promise<Outcome>}
 */
export async function replayedToken(ctx, framing) {
  const token = ctx.accepted[Math.floor(Math.random() * ctx.accepted.length)];
  if (!token) return garbageToken(ctx, framing);
  return expectRefusal(ctx, framing, token, 'replay');
}

/**
 * @param {ScenarioContext} ctx @param {'sspi' | 'gss'} framing @param {Buffer} token @param {string} what
 * @returns {Promise<Outcome>}
 */
async function expectRefusal(ctx, framing, token, what) {
  const c = await WireConn.connect(framing === 'sspi' ? ctx.ports.sspi : ctx.ports.gss, ctx.timeoutMs);
  try {
    if (framing === 'sspi') {
      c.write(sspiFrame(token));
      // An error token (KRB-ERROR, SPNEGO reject) may come first; never an AP-REP, never a greeting.
      const reply = await c.readSspiFrame(ctx.timeoutMs);
      if (reply && isApRep(reply)) throw new Error(`sspi ${what}: accepted`);
    } else {
      c.write(Buffer.concat([gssFrame(GssFlag.NOOP | GssFlag.CONTEXT_NEXT), gssFrame(GssFlag.CONTEXT, token)]));
      const reply = await c.readGssFrame(ctx.timeoutMs);
      if (reply && isApRep(reply.body)) throw new Error(`gss-sample ${what}: accepted`);
    }
    const rest = await c.readToEnd(ctx.timeoutMs);
    if (rest.bytes.length > 0) throw new Error(`${framing} ${what}: ${rest.bytes.length} bytes after the refusal`);
    return 'rejected';
  } finally {
    c.destroy();
  }
}

/**
 * A frame announcing 100 bytes, 10 sent, then a half-close: the server must close
 * (ERR_FRAME_TRUNCATED) without creating a context.
 * @param {ScenarioContext} ctx
 * @returns {Promise<Outcome>}
 */
export async function truncatedFrame(ctx) {
  const c = await WireConn.connect(ctx.ports.sspi, ctx.timeoutMs);
  try {
    const prefix = Buffer.alloc(4);
    prefix.writeUInt32LE(100, 0);
    c.socket.end(Buffer.concat([prefix, randomBytes(10)]));
    const rest = await c.readToEnd(ctx.timeoutMs);
    if (rest.bytes.length > 0) throw new Error(`truncated frame: ${rest.bytes.length} reply bytes`);
    return 'rejected';
  } finally {
    c.destroy();
  }
}

/**
 * A good token, then gone before the reply: whether the server's accept ran or not, its context
 * must be freed.
 * @param {ScenarioContext} ctx @param {'sspi' | 'gss'} framing
 * @returns {Promise<Outcome>}
 */
export async function abandonAfterToken(ctx, framing) {
  const token = await ctx.tokens.krb5.take();
  const c = await WireConn.connect(framing === 'sspi' ? ctx.ports.sspi : ctx.ports.gss, ctx.timeoutMs);
  if (framing === 'sspi') c.write(sspiFrame(token));
  else c.write(Buffer.concat([gssFrame(GssFlag.NOOP | GssFlag.CONTEXT_NEXT), gssFrame(GssFlag.CONTEXT, token)]));
  c.destroy();
  return 'abandoned';
}

/**
 * Connect and leave without a byte.
 * @param {ScenarioContext} ctx
 * @returns {Promise<Outcome>}
 */
export async function abandonAtConnect(ctx) {
  const c = await WireConn.connect(ctx.ports.sspi, ctx.timeoutMs);
  c.destroy();
  return 'abandoned';
}
