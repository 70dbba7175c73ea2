/**
 * negotiate-server: accept Negotiate (SPNEGO: Kerberos, optionally NTLM) handshakes from many
 * concurrent clients, with mutual authentication, and give the application the proven client
 * identity and message protection. See docs/api.md.
 */
export { NegotiateServer, type ListeningEvent } from './server.js';
export type {
  NegotiateServerOptions,
  CredentialsOptions,
  TcpOptions,
  ListenerOptions,
  SspiListenerOptions,
  GssSampleListenerOptions,
  HttpOptions,
  HttpEngine,
  WebSocketOptions,
  CookieOptions,
  LimitsOptions,
  AdminOptions,
  TlsOptions,
} from './options.js';
export { TcpAcceptor, type TcpAcceptorOptions, type TcpFraming, type TcpProtocol } from './acceptors/TcpAcceptor.js';
export type { TcpConnection, TcpConnectionLimits } from './acceptors/TcpConnection.js';
export { sspiProtocol, DEFAULT_GREETING, type SspiProtocolOptions } from './acceptors/sspiProtocol.js';
export { gssSampleProtocol, type GssSampleProtocolOptions } from './acceptors/gssSampleProtocol.js';
export type { AuthorizationRefusal, HandshakeFailure, Mechanism, ProvenIdentity } from './handshake/index.js';
export type {
  AuthorizationRules,
  AuthorizationRule,
  AuthorizeExtra,
  AuthorizeHook,
  AuthorizeRefusal,
  AuthorizeRequest,
  AuthorizeResult,
} from './authorization/index.js';
export { HandshakesPerAddress } from './handshake/index.js';
export {
  HttpAcceptor,
  MULTI_LEG_REFUSAL,
  type HttpAcceptorOptions,
  type HttpSessionCookieOptions,
  type HttpIdentity,
  type HttpHandshakeFailure,
  type HttpReply,
  type HttpHeaders,
  type HttpRequestInfo,
  type HttpMethod,
  type PreflightHandler,
  type ProtectOptions,
  type ProtectedHandler,
} from './acceptors/HttpAcceptor.js';
export {
  attachWebSocket,
  WsAcceptor,
  WS_CLOSE,
  type WsAcceptorOptions,
  type WsHandshakeFailure,
  type WsAuthenticatedMessage,
  type WsCloseCode,
} from './acceptors/WsAcceptor.js';
export { loadUws, type UwsModule } from './acceptors/uws.js';
export type { HttpTlsOptions, ChannelAcceptOptions } from './acceptors/httpTls.js';
export { tlsServerEndPoint, CHANNEL_BINDING_POLICIES, type ChannelBindingPolicy } from './tls/channelBindings.js';
export {
  loadTlsCertificate,
  loadTlsKeyPair,
  type TlsCertificate,
  type TlsFiles,
  type TlsPem,
} from './tls/TlsCertificate.js';
// The `node` HTTP engine (NegotiateServer.nodeHttp); the adapter itself is `negotiate-server/adapter`.
export type { NodeHttpAcceptor, NodeHttpAcceptorOptions, NodeHttpTlsOptions } from './acceptors/NodeHttpAcceptor.js';
export type { AdapterIdentity, AdapterHandshakeFailure } from './adapter/types.js';
export { SessionCookies, type SessionCookieOptions, type CookieSession } from './http/sessionCookie.js';
export { parseAuthorization, formatWwwAuthenticate, type ParsedAuthorization } from './framing/negotiateHeader.js';
export { AuthPool, AcceptError, type AuthPoolOptions, type AcceptStep } from './pool/AuthPool.js';
export type { CredentialOptions, ReplayCacheOption, RequiredFlag } from './pool/credentials.js';
export type { LocalNameMode } from './pool/localName.js';
export type { DelegatedCredentials } from './delegation/DelegatedCredentials.js';
export {
  ConstrainedDelegation,
  type ConstrainedDelegationOptions,
  type ImpersonatedCredential,
} from './s4u/ConstrainedDelegation.js';
export { BasicAuth, type BasicAuthOptions, type BasicOutcome } from './basic/BasicAuth.js';
export { PasswordVerifier, type PasswordVerifierOptions } from './basic/PasswordVerifier.js';
export { FailureLimiter, type FailureLimiterOptions } from './basic/FailureLimiter.js';
export { Session, type SessionInfo, type Frontend } from './session.js';
export type { ContextFlags, NativeContextStats as ContextStats, PacInfo, PacUpnDnsInfo } from './native.js';
export {
  acquireCredentialsHandle,
  acceptSecurityContext,
  encryptMessage,
  decryptMessage,
  makeSignature,
  verifySignature,
  CredentialsHandle,
  SecurityContextHandle,
  type AcceptResult,
  type AcceptStatus,
  type ContextAttributes,
  type CredentialsHandleOptions,
} from './sspi.js';
export {
  NegotiateError,
  FramingError,
  PoolError,
  ConfigError,
  GssError,
  ContextError,
  type NegotiateErrorCode,
} from './errors.js';
export { ThrowawayRealm, type RealmOptions } from './realm/index.js';
export { createLogger, createPinoLogger, type Logger, type LogLevel, type PinoCompatibleLogger } from './logger.js';
export {
  ServerMetrics,
  type ServerMetricsOptions,
  type HandshakeSuccessFacts,
  type HandshakeFailureFacts,
} from './metrics/ServerMetrics.js';
export type { StateSources, FrontendLoad, PoolStats } from './metrics/stateMetrics.js';
export { AdminListener, type AdminListenerOptions, type Readiness } from './admin/AdminListener.js';
export * from './framing/index.js';
