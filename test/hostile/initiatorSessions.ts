/**
 * Legitimate Kerberos handshakes driven byte by byte over a raw socket: a real python3-gssapi
 * initiator makes and checks the tokens, the test decides how the bytes travel (one write, or
 * dribbled one byte per TCP segment) and what else goes on the wire.
 */
import assert from 'node:assert/strict';

import { decodeSspiGreeting, encodeGssSampleFrame, encodeSspiFrame, TokenFlag } from '../../src/framing/index.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { Initiator } from '../support/initiator.js';
import { RawConn } from '../support/rawConn.js';

export const DEFAULT_GREETING = 'This is your server speaking';

/** How to put bytes on the wire: whole in one write, or dribbled. */
export interface Delivery {
  /** Bytes per write; omitted: everything in one write. */
  chunkBytes?: number;
  /** Pause after each write, ms (default 1). */
  delayMs?: number;
}

async function send(c: RawConn, bytes: Buffer, how: Delivery | undefined): Promise<void> {
  if (how?.chunkBytes === undefined) {
    await c.write(bytes);
    return;
  }
  const sent = await c.dribble(bytes, { chunkBytes: how.chunkBytes, ...(how.delayMs !== undefined ? { delayMs: how.delayMs } : {}) });
  assert.equal(sent, bytes.length, 'the server closed the connection while a valid frame was being dribbled');
}

/** Bounds an initiator call: Initiator.step never settles if the python process hangs. */
async function bounded<T>(p: Promise<T>, what: string, timeoutMs = 15_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer from initiator.py within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * One raw-krb5 handshake with mutual authentication on the sspi framing: AP-REQ out (as `how`
 * says, followed by `trailing` in the same write when given), AP-REP in and verified by the
 * initiator, then the greeting until EOF, decrypted by the initiator.
 */
export async function sspiKrb5Handshake(realm: ThrowawayRealm, port: number, opts: { how?: Delivery; trailing?: Buffer } = {}): Promise<void> {
  const init = Initiator.start(realm, { mech: 'krb5' });
  try {
    // The token is made before connecting, so a short handshake deadline only times the wire.
    const first = await bounded(init.step(), 'first leg');
    assert.equal(first.complete, false, 'mutual authentication needs the AP-REP');
    const c = await RawConn.connect(port);
    try {
      const frame = encodeSspiFrame(first.token);
      await send(c, opts.trailing ? Buffer.concat([frame, opts.trailing]) : frame, opts.how);
      const apRep = await c.readSspiFrame();
      const second = await bounded(init.step(apRep), 'AP-REP');
      assert.equal(second.complete, true, 'the initiator accepted the AP-REP');
      const rest = await c.readToEnd();
      assert.equal(rest.how, 'eof', 'the server closes cleanly after the greeting');
      const { trailer, ciphertext } = decodeSspiGreeting(rest.bytes);
      const greeting = await bounded(init.unwrap(Buffer.concat([trailer, ciphertext])), 'greeting');
      assert.equal(greeting.message.toString('utf8'), DEFAULT_GREETING);
      assert.equal(greeting.conf, true);
    } finally {
      c.destroy();
    }
  } finally {
    init.close();
  }
}

/** An authenticated gss-sample connection, opened by {@link openGssSampleSession}. */
export interface GssSampleSession {
  readonly conn: RawConn;
  readonly init: Initiator;
  /** Sends one wrapped, encrypted message asking for a MIC, and verifies the MIC. */
  exchange(message: Buffer, how?: Delivery): Promise<void>;
  /** Sends the closing NOOP and expects the server to end the connection. */
  finish(): Promise<void>;
  close(): void;
}

/**
 * Opens a gss-sample connection the way gss-client does (NOOP with CONTEXT_NEXT, then context
 * tokens) with a raw-krb5 initiator, and returns once both sides hold the context.
 */
export async function openGssSampleSession(realm: ThrowawayRealm, port: number, how?: Delivery): Promise<GssSampleSession> {
  const init = Initiator.start(realm, { mech: 'krb5' });
  let conn: RawConn | undefined;
  try {
    const first = await bounded(init.step(), 'first leg');
    const c = await RawConn.connect(port);
    conn = c;
    await send(c, Buffer.concat([encodeGssSampleFrame(TokenFlag.NOOP | TokenFlag.CONTEXT_NEXT), encodeGssSampleFrame(TokenFlag.CONTEXT, first.token)]), how);
    const reply = await c.readGssSampleFrame();
    assert.equal(reply.flags, TokenFlag.CONTEXT, 'the AP-REP comes as a context token');
    const second = await bounded(init.step(reply.body), 'AP-REP');
    assert.equal(second.complete, true, 'the initiator accepted the AP-REP');
    return {
      conn: c,
      init,
      async exchange(message, sendHow) {
        const wrapped = await bounded(init.wrap(message, true), 'wrap');
        const flags = TokenFlag.DATA | TokenFlag.WRAPPED | TokenFlag.ENCRYPTED | TokenFlag.SEND_MIC;
        await send(c, encodeGssSampleFrame(flags, wrapped), sendHow);
        const mic = await c.readGssSampleFrame();
        assert.equal(mic.flags, TokenFlag.MIC, 'the server answers SEND_MIC with a MIC');
        await bounded(init.verifyMic(message, mic.body), 'verify MIC');
      },
      async finish() {
        await c.write(encodeGssSampleFrame(TokenFlag.NOOP));
        const rest = await c.readToEnd();
        assert.equal(rest.bytes.length, 0, 'nothing after the closing NOOP');
      },
      close() {
        c.destroy();
        init.close();
      },
    };
  } catch (err) {
    conn?.destroy();
    init.close();
    throw err;
  }
}
