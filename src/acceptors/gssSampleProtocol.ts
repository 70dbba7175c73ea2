/**
 * The `gss-sample` service (docs/protocols.md, `gss-sample`), behaving as MIT's gss-server does:
 * a NOOP (with CONTEXT_NEXT when context tokens follow), the accept loop, then DATA messages each
 * answered with a MIC (SEND_MIC) or a NOOP, until the client's closing NOOP.
 */
import { classifyDataFlags, encodeGssSampleFrame, GssSampleFrameDecoder, TokenFlag } from '../framing/index.js';
import { FramingError } from '../errors.js';
import type { Session } from '../session.js';
import type { TcpConnection } from './TcpConnection.js';
import type { TcpProtocol } from './TcpProtocol.js';

const AUTHENTICATED_SERVICES = TokenFlag.WRAPPED | TokenFlag.ENCRYPTED | TokenFlag.SEND_MIC;

export interface GssSampleProtocolOptions {
  /**
   * Called with every message a client sends after the handshake (unwrapped when it was
   * wrapped); `session` is undefined on unauthenticated (`-na`) connections.
   */
  onMessage?: (session: Session | undefined, message: Buffer) => void;
  /**
   * Serve sessions that open without a security context (a first NOOP without CONTEXT_NEXT,
   * `gss-client -na`): plain DATA frames answered with a NOOP, closed at the handshake deadline
   * like any connection that has not authenticated. Default false: such a connection is refused
   * at once (ERR_UNAUTHENTICATED_REFUSED), since it proves nothing and holds a connection slot.
   */
  allowUnauthenticated?: boolean;
}

/** The `gss-sample` protocol for a TcpAcceptor. */
export function gssSampleProtocol(options: GssSampleProtocolOptions = {}): TcpProtocol {
  return { name: 'gss-sample', serve: (conn) => serveGssSample(conn, options) };
}

async function serveGssSample(conn: TcpConnection, options: GssSampleProtocolOptions): Promise<void> {
  const { logger } = conn;
  const reader = conn.frames(new GssSampleFrameDecoder(conn.limits.maxTokenBytes));

  let session: Session | undefined;
  const first = await reader.next();
  if (!(first.flags & TokenFlag.NOOP)) {
    throw new FramingError(
      'ERR_FRAME_UNEXPECTED',
      `expected a NOOP token to start, got flags 0x${first.flags.toString(16)}`,
    );
  }
  if (first.flags & TokenFlag.CONTEXT_NEXT) {
    for (;;) {
      const frame = await reader.next();
      if (!(frame.flags & TokenFlag.CONTEXT) || frame.body.length === 0) {
        throw new FramingError(
          'ERR_FRAME_UNEXPECTED',
          `expected a context token, got flags 0x${frame.flags.toString(16)}`,
        );
      }
      const step = await conn.accept(frame.body, (t) => encodeGssSampleFrame(TokenFlag.CONTEXT, t));
      if (step.output.length > 0) conn.write(encodeGssSampleFrame(TokenFlag.CONTEXT, step.output));
      if (step.status === 'complete') {
        session = await conn.established(step);
        break;
      }
    }
  } else if (options.allowUnauthenticated !== true) {
    throw new FramingError(
      'ERR_UNAUTHENTICATED_REFUSED',
      'unauthenticated session refused (a NOOP without CONTEXT_NEXT, as gss-client -na sends); allow them with ' +
        '--gss-sample-allow-unauthenticated (library: gssSampleProtocol({ allowUnauthenticated: true }))',
    );
  } else {
    // The handshake deadline keeps running: without it each DATA frame would reset the idle
    // timer and a credential-less client could hold its connection slot for ever.
    logger.info('accepted unauthenticated connection', {
      connectionId: conn.id,
      frontend: 'gss-sample',
      remoteAddress: conn.remoteAddress,
    });
  }

  for (;;) {
    const frame = await reader.next();
    if (frame.flags & TokenFlag.NOOP) break;
    if (!session && frame.flags & AUTHENTICATED_SERVICES) {
      throw new FramingError(
        'ERR_FRAME_UNEXPECTED',
        'unauthenticated client requested authenticated services (wrap, encryption or MIC)',
      );
    }
    const { wrapped, sendMic } = classifyDataFlags(frame.flags);
    let message = frame.body;
    if (wrapped && session) {
      const r = await session.unwrap(frame.body);
      if (frame.flags & TokenFlag.ENCRYPTED && !r.confidential) {
        logger.warn('message was not encrypted although the client asked for it', { connectionId: conn.id });
      }
      message = r.message;
    }
    options.onMessage?.(session, message);
    if (sendMic && session) {
      conn.write(encodeGssSampleFrame(TokenFlag.MIC, await session.getMic(message)));
    } else {
      conn.write(encodeGssSampleFrame(TokenFlag.NOOP));
    }
  }
  session?.close();
  conn.end();
}
