/**
 * The public shapes of the framework-neutral adapter: its options, the identity it proves, the
 * outcome of authenticating one request, and its failure event. The API the Express, Fastify
 * and passport wrappers are built on (docs/adapter.md).
 */
import type { Authorizer, AuthorizationRules, AuthorizeHook } from '../authorization/index.js';
import type { BasicAuth } from '../basic/BasicAuth.js';
import type { NegotiateErrorCode } from '../errors.js';
import type { HandshakeFailure, HandshakesPerAddress, ProvenIdentity } from '../handshake/index.js';
import type { HttpSessionCookieOptions } from '../http/frontEndSetup.js';
import type { Logger } from '../logger.js';
import type { AuthPool, AuthPoolOptions } from '../pool/AuthPool.js';
import type { CredentialOptions } from '../pool/credentials.js';

export type { HttpSessionCookieOptions } from '../http/frontEndSetup.js';

/**
 * Channel binding (Extended Protection). On a TLS socket (node:https, or node:tls under
 * Express/Fastify) each accept step is bound to RFC 5929's tls-server-end-point of the
 * certificate that connection was served (a certificate swapped with setSecureContext is
 * followed: each connection is bound to the one it saw).
 * - `off`: no bindings given to GSSAPI; a client's are ignored.
 * - `when-supported` (default): a client bound to another certificate is refused
 *   (ERR_CHANNEL_BINDING_MISMATCH); one that sent no bindings is accepted, `flags.channelBound` false.
 * - `required`: as `when-supported`, and a client that sent no bindings is refused
 *   (ERR_CHANNEL_BINDING_REQUIRED), as is every request on a plain (non-TLS) socket and on a
 *   certificate RFC 5929 gives no binding (Ed25519, Ed448). Behind a TLS-terminating proxy the
 *   adapter only sees plain sockets: `required` refuses everyone there (docs/adapter.md).
 */
export type ChannelBindingMode = 'off' | 'when-supported' | 'required';

export interface NegotiateAuthenticatorOptions {
  /**
   * The worker pool to run handshakes on; one pool may serve any number of authenticators (and
   * servers). The authenticator never closes a pool it was given.
   */
  pool?: AuthPool | undefined;
  /** Credentials for a pool of the authenticator's own, when no `pool` is given (keytab, principal, ntlm...). */
  credentials?: CredentialOptions | undefined;
  /** Other settings of that own pool (workers, maxQueue, maxContexts...). */
  poolOptions?: Omit<AuthPoolOptions, 'credentials'> | undefined;
  /**
   * Let multi-leg mechanisms (NTLM, raw or in SPNEGO) complete, bound to the request's socket
   * (docs/adapter.md, "NTLM over HTTP"). Default false: they are refused, as on the uWS front end.
   * The pool's credentials must allow NTLM too (`credentials.ntlm`).
   */
  ntlm?: boolean | undefined;
  /** Largest decoded Negotiate token accepted, bytes; checked on the base64 text before decoding. Default 65536. */
  maxTokenBytes?: number | undefined;
  /** Cookie sessions after a successful handshake; false or undefined: none (every request negotiates). */
  sessionCookie?: HttpSessionCookieOptions | false | undefined;
  logger?: Logger | undefined;
  /** The channel-binding policy on TLS sockets: see ChannelBindingMode. Default 'when-supported'. */
  channelBinding?: ChannelBindingMode | undefined;
  /**
   * NTLM: a connection's half-done handshake is freed this long after its last leg, if no next
   * leg came. Default 10,000 ms (the server's --handshake-timeout).
   */
  handshakeTimeoutMs?: number | undefined;
  /**
   * NTLM: the bound on half-done handshakes per remote address, shared with other front ends
   * when given (NegotiateServer.handshakesPerAddress). Default: a bound of its own, a tenth of
   * the default context-table size.
   */
  handshakesPerAddress?: HandshakesPerAddress | undefined;
  /**
   * The operator's rules, checked after each completed handshake before the application sees
   * the request (allowRealms, allowPrincipals, allowPrincipalsFile, requireGroups;
   * docs/after-authentication.md). A refused client gets 403 with the mutual token. Default: none.
   */
  authorization?: AuthorizationRules | undefined;
  /**
   * The application's hook, awaited after the rules: `true` lets in, `false` refuses (403),
   * `{ status, reason }` refuses with that status, `{ extra }` lets in with `identity.extra`;
   * a throw is a 500. Default: none.
   */
  authorize?: AuthorizeHook | undefined;
  /** A prebuilt Authorizer (shared with other front ends), over `authorization` and `authorize`. */
  authorizer?: Authorizer | undefined;
  /**
   * Also accept `Authorization: Basic` on TLS sockets (a password checked with the KDC, its
   * reply verified with the service key: src/basic/), and offer it after Negotiate in their
   * 401s. On a plain socket Basic is neither offered nor accepted (401). Default: off. The
   * authenticator does not close it.
   */
  basicAuth?: BasicAuth | undefined;
}

/** The authenticated client of one request (the fields of HttpIdentity, front end `adapter`). */
export interface AdapterIdentity extends ProvenIdentity {
  readonly frontend: 'adapter';
  readonly remoteAddress: string | undefined;
  /**
   * 'negotiate': this request carried the handshake's last leg; 'basic': a password (Basic over
   * TLS, checked with the KDC); 'cookie': a session cookie from an earlier one.
   */
  readonly via: 'negotiate' | 'basic' | 'cookie';
  /** From the request's arrival at authenticate() to its outcome, ms. */
  readonly latencyMs: number;
}

/** Response headers, in order; a name may repeat. */
export type OutcomeHeaders = Array<[string, string]>;

/**
 * What authenticate() decided about one request.
 * - `authenticated`: `headers` (the final `WWW-Authenticate` with the mutual-authentication
 *   token, `Set-Cookie`) must go out with the application's own response.
 * - `challenge`: answer 401 with `headers` and `body`: no credentials yet, or an NTLM
 *   handshake's next leg (`WWW-Authenticate: Negotiate <token>`).
 * - `refused`: answer `status` (401, 431 or 503; 403 or the hook's status when authorization
 *   refused, 500 when the hook failed) with `headers` and `body` (an authorization refusal's
 *   headers carry the mutual token).
 */
export type NegotiateOutcome =
  | { kind: 'authenticated'; identity: AdapterIdentity; headers: OutcomeHeaders }
  | { kind: 'challenge'; status: 401; headers: OutcomeHeaders; body: string }
  | {
      kind: 'refused';
      status: number;
      code: NegotiateErrorCode;
      reason: string;
      headers: OutcomeHeaders;
      body: string;
    };

/** A refused or failed handshake on the adapter (the 'handshakeFailed' event). */
export type AdapterHandshakeFailure = HandshakeFailure<'adapter'>;
