/**
 * An established gss-sample session driven by a real GSSAPI initiator (test/support/initiator),
 * as MIT's gss-client would: NOOP|CONTEXT_NEXT, the context tokens, then wrapped messages the
 * server answers with a MIC the initiator verifies. The session holds its server-side context
 * until end(), which is what the context-table and idle-timeout tests need.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';

import { encodeGssSampleFrame, TokenFlag } from '../../src/framing/index.js';
import type { Initiator } from '../support/initiator.js';
import { RawConn } from '../support/rawConn.js';

export class GssSampleSession {
  readonly conn: RawConn;
  readonly #initiator: Initiator;

  private constructor(conn: RawConn, initiator: Initiator) {
    this.conn = conn;
    this.#initiator = initiator;
  }

  /** Connects and runs the whole handshake (any number of legs). */
  static async open(port: number, initiator: Initiator): Promise<GssSampleSession> {
    const conn = await RawConn.connect(port);
    try {
      await conn.write(encodeGssSampleFrame(TokenFlag.NOOP | TokenFlag.CONTEXT_NEXT));
      let out = await initiator.step();
      for (let legs = 0; !out.complete; legs++) {
        assert.ok(legs < 5, 'too many legs');
        await conn.write(encodeGssSampleFrame(TokenFlag.CONTEXT, out.token));
        const reply = await conn.readGssSampleFrame();
        assert.equal(reply.flags, TokenFlag.CONTEXT);
        out = await initiator.step(reply.body);
      }
      // A mechanism whose last token goes from the initiator (raw NTLM's AUTHENTICATE).
      if (out.token.length > 0) await conn.write(encodeGssSampleFrame(TokenFlag.CONTEXT, out.token));
    } catch (err) {
      conn.destroy();
      throw err;
    }
    return new GssSampleSession(conn, initiator);
  }

  /** A wrapped, encrypted message asking for a MIC; the initiator verifies the server's MIC. */
  async roundTrip(message: Buffer = randomBytes(24), timeoutMs = 10_000): Promise<void> {
    await this.conn.write(encodeGssSampleFrame(TokenFlag.DATA | TokenFlag.WRAPPED | TokenFlag.ENCRYPTED | TokenFlag.SEND_MIC, await this.#initiator.wrap(message)));
    const mic = await this.conn.readGssSampleFrame(timeoutMs);
    assert.equal(mic.flags, TokenFlag.MIC, 'the server answers with a MIC');
    await this.#initiator.verifyMic(message, mic.body);
  }

  /** The closing NOOP; resolves when the server has closed. */
  async end(timeoutMs = 10_000): Promise<void> {
    await this.conn.write(encodeGssSampleFrame(TokenFlag.NOOP));
    const rest = await this.conn.readToEnd(timeoutMs);
    assert.equal(rest.bytes.length, 0);
  }
}
