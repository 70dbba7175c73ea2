/**
 * The `sspi` framing service loop (PROTOCOLS.md §1), as the Windows Sockets sample server runs
 * it: read a token, accept it, send the output if any, repeat while CONTINUE; then send one
 * EncryptMessage-layout greeting and close.
 */
import { encodeSspiFrame, encodeSspiGreeting, SspiFrameDecoder } from '../framing/index.js';
import type { ConnectionContext } from './TcpAcceptor.js';
import type { Session } from '../session.js';

/** What the reference server sends, byte for byte (no NUL). */
export const DEFAULT_GREETING = 'This is your server speaking';

export async function serveSspi(ctx: ConnectionContext): Promise<void> {
  const { socket, options } = ctx;
  const reader = ctx.frames(new SspiFrameDecoder(options.maxTokenBytes));

  let session: Session | undefined;
  while (!session) {
    const token = await reader.next();
    const step = await ctx.accept(token, encodeSspiFrame);
    if (step.output.length > 0) socket.write(encodeSspiFrame(step.output));
    if (step.status === 'complete') session = ctx.established(step);
  }

  const g = options.greeting ?? DEFAULT_GREETING;
  const text = typeof g === 'function' ? g(session) : g;
  const plain = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  const { trailer, ciphertext } = await session.encryptMessage(plain);
  // The greeting is delimited only by the close, as in the reference sample.
  socket.end(encodeSspiGreeting(trailer, ciphertext));
}
