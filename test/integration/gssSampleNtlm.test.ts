/**
 * NTLM over the gss-sample framing, raw and inside SPNEGO: a python3-gssapi initiator (MIT's
 * gss-client cannot finish an NTLM session, see PROTOCOLS.md) drives the exact conversation
 * gss-client would: NOOP|CONTEXT_NEXT, the context tokens, a wrapped DATA message asking for a
 * MIC, and the closing NOOP. Three legs prove the context survives between legs.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { encodeGssSampleFrame, GssSampleFrameDecoder, TokenFlag, type GssSampleFrame } from '../../src/framing/index.js';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import type { Session } from '../../src/session.js';
import { startTestRealm } from '../support/realm.js';
import { requirePythonGssapi, startTestServer, type TestServer } from '../support/server.js';
import { Initiator, type InitiatorMech } from '../support/initiator.js';
import { waitUntil } from '../support/waitUntil.js';

let realm: ThrowawayRealm;
let ts: TestServer;
const sessions: Session[] = [];

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  ts = await startTestServer(realm, { ntlm: true });
  ts.server.on('session', (s: Session) => sessions.push(s));
});
after(async () => {
  await ts?.server.close();
  await realm?.destroy();
});

/** A gss-sample client connection: frames in, frames out, bounded waits. */
async function connect(port: number): Promise<{ send: (flags: number, body?: Uint8Array) => void; next: () => Promise<GssSampleFrame>; closed: Promise<void>; socket: net.Socket }> {
  const socket = net.connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const decoder = new GssSampleFrameDecoder(65536);
  const queue: GssSampleFrame[] = [];
  let wake: (() => void) | undefined;
  socket.on('data', (c: Buffer) => {
    queue.push(...decoder.push(c));
    wake?.();
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  return {
    socket,
    closed,
    send: (flags, body) => socket.write(encodeGssSampleFrame(flags, body)),
    next: async () => {
      const deadline = Date.now() + 5000;
      while (queue.length === 0) {
        if (Date.now() > deadline) throw new Error('no frame from the server within 5 s');
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 50);
        });
      }
      return queue.shift() as GssSampleFrame;
    },
  };
}

for (const [mech, legs, spnego] of [
  ['ntlm', 3, false],
  ['spnego-ntlm', 4, true],
] as Array<[InitiatorMech, number, boolean]>) {
  test(`NTLM ${spnego ? 'inside SPNEGO' : 'raw'} over gss-sample: ${legs} legs, wrapped message, MIC verified by the client`, async () => {
    const ini = Initiator.start(realm, { mech });
    const c = await connect(ts.gssSamplePort);
    const before = sessions.length;
    try {
      c.send(TokenFlag.NOOP | TokenFlag.CONTEXT_NEXT);
      let out = await ini.step();
      let count = 0;
      while (!out.complete) {
        c.send(TokenFlag.CONTEXT, out.token);
        const reply = await c.next();
        assert.equal(reply.flags, TokenFlag.CONTEXT);
        count += 2;
        out = await ini.step(reply.body);
      }
      if (out.token.length > 0) {
        // The last token (raw NTLM's AUTHENTICATE) needs no answer: the server completes.
        c.send(TokenFlag.CONTEXT, out.token);
        count += 1;
      }
      assert.equal(count, legs);
      const message = Buffer.from('hello over NTLM');
      c.send(TokenFlag.DATA | TokenFlag.WRAPPED | TokenFlag.ENCRYPTED | TokenFlag.SEND_MIC, await ini.wrap(message));
      const mic = await c.next();
      assert.equal(mic.flags, TokenFlag.MIC);
      await ini.verifyMic(message, mic.body);
      c.send(TokenFlag.NOOP);
      await c.closed;
      assert.equal(sessions.length, before + 1);
      const s = sessions.at(-1) as Session;
      assert.equal(s.mech, 'ntlmssp');
      assert.equal(s.spnego, spnego);
      assert.equal(s.principal, realm.ntlmUser);
    } finally {
      c.socket.destroy();
      ini.close();
    }
    await waitUntil(() => ts.server.pool.stats().live === 0, () => `no live context, have ${JSON.stringify(ts.server.pool.stats())}`, 2000);
  });
}
