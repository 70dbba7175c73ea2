/**
 * Which WebSocket messages the front end refuses, before it looks at their content: text where
 * binary is expected, a message over the token limit, an empty token, a token before the answer
 * to the previous one (lock-step). Pure: the acceptor turns a refusal into a report and a close.
 */
import { FramingError } from '../errors.js';
import { WS_CLOSE, type WsClose } from './wsClose.js';
import type { Phase } from './wsConnection.js';

/** Why a message is refused: the error to report and, when not closeFor(error), the close. */
export interface MessageRefusal {
  error: FramingError;
  close?: WsClose;
}

/** The refusal of a message of `size` bytes arriving in `phase`, or undefined when it is acceptable. */
export function refuseMessage(
  phase: Phase,
  size: number,
  isBinary: boolean,
  maxTokenBytes: number,
): MessageRefusal | undefined {
  if (phase === 'established') {
    if (!isBinary) {
      return {
        error: new FramingError(
          'ERR_WS_PROTOCOL',
          'a text message after authentication; application messages are binary',
        ),
        close: { code: WS_CLOSE.UNSUPPORTED_DATA, reason: 'binary messages only' },
      };
    }
    if (size > maxTokenBytes)
      return {
        error: new FramingError(
          'ERR_FRAME_TOO_LARGE',
          `message of ${size} bytes exceeds the ${maxTokenBytes}-byte limit`,
        ),
      };
    return undefined;
  }
  if (!isBinary)
    return {
      error: new FramingError('ERR_WS_PROTOCOL', 'a text message during the handshake; tokens are binary messages'),
    };
  if (size > maxTokenBytes)
    return {
      error: new FramingError('ERR_FRAME_TOO_LARGE', `token of ${size} bytes exceeds the ${maxTokenBytes}-byte limit`),
    };
  if (size === 0) return { error: new FramingError('ERR_FRAME_EMPTY', 'an empty token') };
  if (phase === 'leg')
    return {
      error: new FramingError(
        'ERR_WS_PROTOCOL',
        'a token arrived before the answer to the previous one (lock-step violated)',
      ),
    };
  return undefined;
}
