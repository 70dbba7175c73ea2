/**
 * Typed errors with stable `code`s. Error objects do not survive `postMessage` with their class
 * or `code` (structured clone keeps only the message), so workers return plain result values
 * and the main thread builds these classes from them.
 */

/** The context table's refusals: a ContextError rather than a GSS failure. */
export const CONTEXT_ERROR_CODES = [
  'ERR_CONTEXT_TABLE_FULL',
  'ERR_CONTEXT_BUSY',
  'ERR_CONTEXT_NOT_FOUND',
  'ERR_CONTEXT_NOT_ESTABLISHED',
  'ERR_CONTEXT_ESTABLISHED',
] as const;

export type ContextErrorCode = (typeof CONTEXT_ERROR_CODES)[number];

/**
 * Every code the library can report. Stable: users match on them. The union type below is
 * derived from this list, and native results are checked against it (errorCodeOf).
 */
export const NEGOTIATE_ERROR_CODES = [
  // framing and protocol
  'ERR_FRAME_TOO_LARGE',
  'ERR_FRAME_EMPTY',
  'ERR_FRAME_TRUNCATED',
  'ERR_FRAME_UNSUPPORTED_V1',
  'ERR_FRAME_UNEXPECTED',
  'ERR_HANDSHAKE_TIMEOUT',
  'ERR_IDLE_TIMEOUT',
  'ERR_UNAUTHENTICATED_REFUSED',
  'ERR_PROTOCOL',
  // HTTP and WebSocket
  'ERR_UWS_FALLBACK',
  'ERR_UWS_UNAVAILABLE',
  'ERR_HTTP_BAD_AUTHORIZATION',
  'ERR_HTTP_UNSUPPORTED_SCHEME',
  'ERR_HTTP_MULTI_LEG_UNSUPPORTED',
  'ERR_HTTP_HEADER_TOO_LARGE',
  'ERR_WS_PROTOCOL',
  // authorization (src/authorization/): the handshake succeeded, the client is not let in
  'ERR_AUTHZ_REFUSED',
  'ERR_AUTHZ_HOOK_FAILED',
  // pool
  'ERR_POOL_QUEUE_FULL',
  'ERR_POOL_TASK_TIMEOUT',
  'ERR_POOL_WORKER_DIED',
  'ERR_POOL_CLOSED',
  // context table
  ...CONTEXT_ERROR_CODES,
  'ERR_HANDSHAKES_PER_ADDRESS',
  // credentials and configuration
  'ERR_NO_CREDENTIALS',
  'ERR_KEYTAB_UNREADABLE',
  'ERR_CONFIG',
  'ERR_NATIVE_MISSING',
  'ERR_REALM',
  // `negotiate-server loadgen`: its token generator could not start or died (no ticket, unknown service).
  'ERR_TOKEN_GENERATOR',
  // The TLS certificate or key: unreadable, not PEM, not a pair, or no channel binding defined for it.
  'ERR_TLS_CERTIFICATE',
  // GSSAPI (routine error of the major status, or a well-known krb5 minor)
  'ERR_GSS_DEFECTIVE_TOKEN',
  'ERR_GSS_DEFECTIVE_CREDENTIAL',
  'ERR_GSS_BAD_MECH',
  'ERR_GSS_BAD_NAME',
  'ERR_GSS_BAD_SIG',
  'ERR_GSS_NO_CRED',
  'ERR_GSS_NO_CONTEXT',
  'ERR_GSS_CREDENTIALS_EXPIRED',
  'ERR_GSS_CONTEXT_EXPIRED',
  'ERR_GSS_BAD_BINDINGS',
  // Channel binding (Extended Protection): the client's bindings name another TLS certificate
  // (a man in the middle or a TLS-terminating proxy); or it sent none and they are required.
  'ERR_CHANNEL_BINDING_MISMATCH',
  'ERR_CHANNEL_BINDING_REQUIRED',
  'ERR_GSS_REPLAY',
  'ERR_REPLAY_CACHE_FULL',
  'ERR_REPLAY_QUOTA',
  'ERR_REPLAY_CACHE_UNAVAILABLE',
  'ERR_GSS_CLOCK_SKEW',
  'ERR_GSS_WRONG_PRINCIPAL',
  // The keytab holds the service's key, but not in the enctype the KDC encrypted the ticket with.
  'ERR_GSS_KEYTAB_ENCTYPE',
  'ERR_GSS_MECH_DISABLED',
  'ERR_GSS_NO_KERBEROS_TOKEN',
  'ERR_GSS_FLAGS_REQUIRED',
  'ERR_GSS_UNSEQ_TOKEN',
  // Constrained delegation (src/s4u/): the KDC would not give the service a ticket for the user
  // to itself (protocol transition not allowed, or no such user) / to the target (not in the
  // account's msDS-AllowedToDelegateTo).
  'ERR_S4U_SELF_REFUSED',
  'ERR_S4U_PROXY_REFUSED',
  'ERR_GSS_FAILURE',
  // Basic authentication over TLS (src/basic/): a malformed credential; then what the KDC
  // exchange answered (native/src/basic/password_check.h); then too many failures.
  'ERR_BASIC_BAD_CREDENTIAL',
  'ERR_BASIC_BAD_PASSWORD',
  'ERR_BASIC_UNKNOWN_PRINCIPAL',
  'ERR_BASIC_PASSWORD_EXPIRED',
  'ERR_BASIC_KDC_UNREACHABLE',
  'ERR_BASIC_VERIFY_FAILED',
  'ERR_BASIC_BAD_NAME',
  'ERR_BASIC_REFUSED',
  'ERR_BASIC_RATE_LIMITED',
] as const;

export type NegotiateErrorCode = (typeof NEGOTIATE_ERROR_CODES)[number];

const knownCodes: ReadonlySet<string> = new Set(NEGOTIATE_ERROR_CODES);
const contextCodes: ReadonlySet<string> = new Set(CONTEXT_ERROR_CODES);

export function isNegotiateErrorCode(code: string): code is NegotiateErrorCode {
  return knownCodes.has(code);
}

export function isContextErrorCode(code: string): code is ContextErrorCode {
  return contextCodes.has(code);
}

/**
 * The code to report for a code string from outside the type system (the native addon): itself
 * when it is one of ours, else ERR_GSS_FAILURE, so a code added to the addon but not here can
 * never reach users as an undeclared value.
 */
export function errorCodeOf(code: string): NegotiateErrorCode {
  return isNegotiateErrorCode(code) ? code : 'ERR_GSS_FAILURE';
}

/** The errno name of a failed system call (`EACCES`, `EAGAIN`...), or 'error'. */
export function errnoCode(err: unknown): string {
  const code: unknown = typeof err === 'object' && err !== null ? Reflect.get(err, 'code') : undefined;
  return typeof code === 'string' ? code : 'error';
}

/** Base class of every error this package throws. */
export class NegotiateError extends Error {
  override readonly name: string = 'NegotiateError';
  readonly code: NegotiateErrorCode;

  constructor(code: NegotiateErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** A malformed, oversized or out-of-place frame from a peer. */
export class FramingError extends NegotiateError {
  override readonly name: string = 'FramingError';
}

/** The worker pool refused or lost a task (queue full, timeout, worker died, closed). */
export class PoolError extends NegotiateError {
  override readonly name: string = 'PoolError';
}

/**
 * The shared replay cache (Redis) could not check a handshake: unreachable, slower than its
 * deadline, or too many checks waiting. The handshake is refused (fail closed); the client may retry.
 */
export class ReplayStoreError extends NegotiateError {
  override readonly name: string = 'ReplayStoreError';
}

/** Bad configuration or environment (missing keytab, missing native build, bad option). */
export class ConfigError extends NegotiateError {
  override readonly name: string = 'ConfigError';
}

/** A GSSAPI call failed. Carries the major/minor status and `gss_display_status` text. */
export class GssError extends NegotiateError {
  override readonly name: string = 'GssError';
  /** GSS major status (routine, calling and supplementary bits). */
  readonly major: number;
  /** Mechanism-specific minor status (e.g. a krb5 error-table code). */
  readonly minor: number;

  constructor(code: NegotiateErrorCode, message: string, major: number, minor: number) {
    super(code, message);
    this.major = major;
    this.minor = minor;
  }
}

/** A refusal from the context table (full, busy, unknown connection, wrong state). */
export class ContextError extends NegotiateError {
  override readonly name: string = 'ContextError';
}

/**
 * An authenticated client that authorization refused (a rule, or the application's hook), or a
 * hook that failed. Its `status` is what HTTP answers (403 for the rules).
 */
export class AuthorizationError extends NegotiateError {
  override readonly name: string = 'AuthorizationError';
  /** The HTTP status of the refusal (400-599). */
  readonly status: number;
  /** The rule that refused: allow-realm, allow-principal, allow, require-group or hook. */
  readonly rule: string;

  constructor(
    code: 'ERR_AUTHZ_REFUSED' | 'ERR_AUTHZ_HOOK_FAILED',
    message: string,
    status: number,
    rule: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.status = status;
    this.rule = rule;
  }
}
