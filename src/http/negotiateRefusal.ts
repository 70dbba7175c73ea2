/**
 * How an RFC 4559 front end answers a request that did not authenticate: the status, headers
 * and body for a malformed or oversized Authorization header and for a failed accept. One
 * mapping, so the uWS front end and the node:http adapter (and every server built on it) answer
 * the same way; each only writes the answer to its own response object.
 */
import type { NegotiateErrorCode } from '../errors.js';
import type { ParsedAuthorization } from '../framing/negotiateHeader.js';
import { formatWwwAuthenticate } from '../framing/negotiateHeader.js';
import { classify, describeFailure } from '../handshake/failure.js';
import { AcceptError } from '../pool/failures.js';

/** Response bodies: short, plain text, never echoing the client's credentials. */
export const CHALLENGE_BODY = 'Negotiate authentication required\n';

/** The 401 body when the client had no Kerberos ticket (the "connected by IP address" trap). */
export const NO_TICKET_BODY =
  'Negotiate authentication failed (ERR_GSS_NO_KERBEROS_TOKEN): your client sent no Kerberos ticket for this ' +
  'service. It could not get one for the host name in the URL: use the host name the service principal names ' +
  '(HTTP/<that name>), not an IP address or an alias, and check that you have a ticket-granting ticket (klist).\n';

export const BUSY_BODY = 'The server is busy; retry shortly\n';

/** A refusal, ready to send: `headers` already holds the bare challenge (or Retry-After for 503). */
export interface HttpRefusal {
  readonly status: number;
  readonly code: NegotiateErrorCode;
  /** Safe to log and to show: never quotes the client's credentials. */
  readonly reason: string;
  readonly body: string;
  readonly headers: Array<[string, string]>;
  /** The pool could not take the handshake now (503): the client may retry. */
  readonly busy: boolean;
}

/** `WWW-Authenticate: Negotiate` and a text body: the headers of a 401 (or 431) answer. */
export function challengeHeaders(): Array<[string, string]> {
  return [
    ['WWW-Authenticate', formatWwwAuthenticate()],
    ['Content-Type', 'text/plain'],
  ];
}

/** The answer to an Authorization header parseAuthorization refused: 431 when too large, else 401. */
export function refusalForHeader(parsed: Extract<ParsedAuthorization, { kind: 'invalid' }>): HttpRefusal {
  return {
    status: parsed.code === 'ERR_HTTP_HEADER_TOO_LARGE' ? 431 : 401,
    code: parsed.code,
    reason: parsed.message,
    body: `${parsed.message}\n`,
    headers: challengeHeaders(),
    busy: false,
  };
}

/**
 * The answer to a failed accept, or undefined for an `internal` failure (a bug: the caller
 * rethrows it). Refused → 401 with a bare `Negotiate` challenge, not GSSAPI's error token: in
 * RFC 4559 a 401 carrying gssapi-data means "continue the handshake with this token", so curl
 * and browsers feed it to gss_init_sec_context and turn a clean refusal into a client-side GSS
 * error; a bare challenge means "this attempt failed, start over". (The TCP front ends do send
 * the error token: there it is unambiguous.) Busy → 503 with Retry-After.
 */
export function refusalForAcceptError(err: unknown): HttpRefusal | undefined {
  const kind = classify(err);
  if (kind === 'internal') return undefined;
  const { code, message } = describeFailure(err);
  if (kind === 'busy') {
    return {
      status: 503,
      code,
      reason: message,
      body: BUSY_BODY,
      headers: [
        ['Retry-After', '1'],
        ['Content-Type', 'text/plain'],
      ],
      busy: true,
    };
  }
  const what =
    err instanceof AcceptError ? 'Negotiate authentication failed' : 'Negotiate authentication could not run';
  return {
    status: 401,
    code,
    reason: message,
    body: code === 'ERR_GSS_NO_KERBEROS_TOKEN' ? NO_TICKET_BODY : `${what} (${code})\n`,
    headers: challengeHeaders(),
    busy: false,
  };
}

/** The body of a 403 from the operator's rules: says what, not which rule (that is in the log). */
export const FORBIDDEN_BODY = 'Forbidden: this account is not authorized for this service\n';

/**
 * The answer to an authenticated client that authorization refused (src/authorization/): 403
 * (or the hook's status) with the mutual token still sent by the caller, since the handshake
 * itself succeeded; a failed hook is a 500. No challenge: retrying as the same user cannot help.
 */
export function refusalForAuthorization(decision: {
  status: number;
  rule: string;
  reason: string;
  failed: boolean;
}): HttpRefusal {
  const body = decision.failed
    ? 'Internal server error\n'
    : decision.rule === 'hook'
      ? `${decision.reason}\n`
      : FORBIDDEN_BODY;
  return {
    status: decision.status,
    code: decision.failed ? 'ERR_AUTHZ_HOOK_FAILED' : 'ERR_AUTHZ_REFUSED',
    reason: decision.reason,
    body,
    headers: [['Content-Type', 'text/plain']],
    busy: false,
  };
}
