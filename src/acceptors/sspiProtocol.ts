/**
 * The `sspi` framing service loop (docs/protocols.md, `sspi`), as the Windows Sockets sample
 * server runs it: read a token, accept it, send the output if any, repeat while CONTINUE; then
 * send one EncryptMessage-layout greeting and close.
 */
import { encodeSspiFrame, encodeSspiGreeting, SspiFrameDecoder } from '../framing/index.js';
import type { Session } from '../session.js';
import type { TcpConnection } from './TcpConnection.js';
import type { TcpProtocol } from './TcpProtocol.js';

/** What the reference server sends, byte for byte (no NUL). */
export const DEFAULT_GREETING = 'This is your server speaking';

export interface SspiProtocolOptions {
  /** The message encrypted to the client after the handshake. Default DEFAULT_GREETING. */
  greeting?: string | Uint8Array | ((session: Session) => string | Uint8Array);
}

/** The `sspi` protocol for a TcpAcceptor. */
export function sspiProtocol(options: SspiProtocolOptions = {}): TcpProtocol {
  const g = options.greeting ?? DEFAULT_GREETING;
  // A fixed greeting is sealed by the same worker task that completes the handshake: one trip
  // to the pool per handshake instead of two. A greeting computed from the session cannot be.
  const fixed = typeof g === 'function' ? undefined : typeof g === 'string' ? Buffer.from(g, 'utf8') : g;
  return { name: 'sspi', serve: (conn) => serveSspi(conn, g, fixed) };
}

type Greeting = NonNullable<SspiProtocolOptions['greeting']>;

async function serveSspi(conn: TcpConnection, g: Greeting, fixed: Uint8Array | undefined): Promise<void> {
  const reader = conn.frames(new SspiFrameDecoder(conn.limits.maxTokenBytes));

  let session: Session | undefined;
  let sealed: { trailer: Buffer; ciphertext: Buffer } | undefined;
  // The last token (the AP-REP) is held back to leave in one write with the greeting.
  let last: Buffer | undefined;
  while (!session) {
    const token = await reader.next();
    const step = await conn.accept(token, encodeSspiFrame, fixed ? { sealOnComplete: fixed } : {});
    if (step.status === 'complete') {
      if (step.output.length > 0) last = encodeSspiFrame(step.output);
      session = await conn.established(step);
      sealed = step.sealed;
    } else if (step.output.length > 0) {
      conn.write(encodeSspiFrame(step.output));
    }
  }

  if (!sealed) {
    if (last) conn.write(last);
    last = undefined;
    const text = typeof g === 'function' ? g(session) : g;
    sealed = await session.encryptMessage(typeof text === 'string' ? Buffer.from(text, 'utf8') : text);
  }
  const { trailer, ciphertext } = sealed;
  // The greeting is delimited only by the close, as in the reference sample.
  const greeting = encodeSspiGreeting(trailer, ciphertext);
  conn.end(last ? Buffer.concat([last, greeting]) : greeting);
}
