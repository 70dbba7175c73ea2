/**
 * One HTTP request as the front end keeps it: everything copied out of uWS's `req` in the
 * synchronous top of the route handler, since `req` dies when the handler returns or first
 * awaits.
 */
import type { HttpRequest, HttpResponse } from 'uwebsockets';
import { nextConnectionId } from '../connectionId.js';
import { collectFraming } from './httpFraming.js';
import { Reply, type HttpHeaders, type HttpRequestHead } from './HttpReply.js';
import { remoteAddressOf } from './httpSetup.js';

/** Everything about one request that outlives uWS's `req`. */
export interface Exchange {
  /** The handshake's context-table key, also its id in logs; one per request. */
  readonly connectionId: number;
  readonly reply: Reply;
  readonly started: number;
  readonly remoteAddress: string | undefined;
  readonly authorization: string;
  readonly cookie: string;
  readonly headers: HttpHeaders;
  readonly request: HttpRequestHead;
  /** Content-Length and Transfer-Encoding headers, as sent (for the framing check). */
  readonly framing: ReadonlyArray<[string, string]>;
  /** The body's announced length; undefined when chunked or absent. */
  readonly contentLength: number | undefined;
  /** The request announced a body: Content-Length above 0, or chunked. */
  readonly expectsBody: boolean;
}

/** How many `:name` parameters a uWS route pattern has. */
export function paramCount(pattern: string): number {
  return pattern.split('/').filter((s) => s.startsWith(':')).length;
}

/**
 * Copies one request out of uWS and creates its Reply (which registers onAborted at once).
 * `wantCookie`: read the Cookie header for session cookies.
 */
export function readExchange(res: HttpResponse, req: HttpRequest, params: number, wantCookie: boolean): Exchange {
  const method = req.getMethod();
  const reply = new Reply(res, method);
  const authorization = req.getHeader('authorization');
  const cookie = wantCookie ? req.getHeader('cookie') : '';
  const headers: Record<string, string> = {};
  const framing: Array<[string, string]> = [];
  req.forEach((k, v) => {
    if (k !== 'authorization') headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
    collectFraming(framing, k, v);
  });
  const parameters: string[] = [];
  for (let i = 0; i < params; i++) parameters.push(req.getParameter(i));
  // Ambiguous framing is refused before any of this is used (refusedForFraming): here there
  // is at most one plain Content-Length, or Transfer-Encoding: chunked.
  const lengthHeader = framing.find(([k]) => k === 'content-length')?.[1];
  const contentLength = lengthHeader === undefined ? undefined : Number(lengthHeader.trim());
  const chunked = framing.some(([k]) => k === 'transfer-encoding');
  return {
    connectionId: nextConnectionId(),
    reply,
    started: performance.now(),
    remoteAddress: remoteAddressOf(res),
    authorization,
    cookie,
    headers,
    request: { method, url: req.getUrl(), query: req.getQuery() ?? '', parameters },
    framing,
    contentLength,
    expectsBody: chunked || (contentLength !== undefined && contentLength > 0),
  };
}

/** A CORS preflight: OPTIONS with `Origin` and `Access-Control-Request-Method` (Fetch standard). */
export function isCorsPreflight(ex: Exchange): boolean {
  return (
    ex.request.method === 'options' &&
    ex.headers['origin'] !== undefined &&
    ex.headers['access-control-request-method'] !== undefined
  );
}
