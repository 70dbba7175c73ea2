/**
 * `negotiate-server/adapter`: Negotiate (SPNEGO: Kerberos; NTLM opt-in, connection-bound) for
 * any `node:http`/`node:https` server or framework. docs/adapter.md.
 */
export { NegotiateAuthenticator, ADAPTER_MULTI_LEG_REFUSAL, CONTINUE_BODY } from './NegotiateAuthenticator.js';
export type {
  AdapterHandshakeFailure,
  AdapterIdentity,
  ChannelBindingMode,
  HttpSessionCookieOptions,
  NegotiateAuthenticatorOptions,
  NegotiateOutcome,
  OutcomeHeaders,
} from './types.js';
export { CHALLENGE_BODY, NO_TICKET_BODY } from '../http/negotiateRefusal.js';
export { AuthPool, type AuthPoolOptions } from '../pool/AuthPool.js';
export type { CredentialOptions } from '../pool/credentials.js';
export type { AuthorizationRules, AuthorizeHook, AuthorizeRequest, AuthorizeResult } from '../authorization/index.js';
export type { AuthorizationRefusal } from '../handshake/index.js';
export { HandshakesPerAddress } from '../handshake/index.js';
export { headerLimitFor } from '../http/headerLimit.js';
