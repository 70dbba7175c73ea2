/**
 * The HTTP front end's answer to ambiguous request framing (src/http/requestFraming.ts says
 * what is ambiguous): 400 with Connection: close, and nothing after that header block answered.
 */
import { framingDefect } from '../http/requestFraming.js';
import type { Logger } from '../logger.js';
import type { Reply } from './HttpReply.js';

/** Keeps the headers that frame a request body, as uWS's forEach hands them over. */
export function collectFraming(into: Array<[string, string]>, name: string, value: string): void {
  if (name === 'content-length' || name === 'transfer-encoding') into.push([name, value]);
}

/**
 * Refuses a request whose framing headers are ambiguous; true when it did (the caller stops).
 * The 400 leaves one event-loop turn later: answered at once, uWS would go on to route a
 * smuggled request already in its buffer; while the answer is pending it closes the
 * connection on the next request instead (docs/http.md).
 */
export function refusedForFraming(
  reply: Reply,
  framing: ReadonlyArray<[string, string]>,
  remoteAddress: string | undefined,
  logger: Logger,
): boolean {
  const defect = framingDefect(framing);
  if (defect === undefined) return false;
  logger.info('request refused: ambiguous framing', { frontend: 'http', remoteAddress, reason: defect });
  setImmediate(() => {
    reply.end(`Bad request: ${defect}\n`, {
      status: 400,
      headers: { 'Content-Type': 'text/plain' },
      closeConnection: true,
    });
  });
  return true;
}
