/**
 * The SSPI vocabulary over this library, for people coming from the Windows Sockets sample:
 * AcquireCredentialsHandle, AcceptSecurityContext with CONTINUE/OK, QueryContextAttributes,
 * EncryptMessage/DecryptMessage, MakeSignature/VerifySignature, DeleteSecurityContext.
 * GSSAPI does the work underneath (docs/api.md maps each call). There is no
 * CompleteAuthToken: GSSAPI never asks for it, for Kerberos or NTLM.
 */
import { AuthPool, type AuthPoolOptions } from './pool/AuthPool.js';
import type { CredentialOptions } from './pool/credentials.js';
import { nextConnectionId } from './connectionId.js';
import type { Session, SessionInfo } from './session.js';
import type { PacInfo } from './native.js';
import { ContextError } from './errors.js';
import { sessionFromStep, type Mechanism } from './handshake/index.js';

/** AcquireCredentialsHandle(SECPKG_CRED_INBOUND, "Negotiate") options, plus the pool's. */
export type CredentialsHandleOptions = CredentialOptions & Omit<AuthPoolOptions, 'credentials'>;

/**
 * An inbound credentials handle. Owns the worker pool: each worker thread holds its own GSSAPI
 * credential acquired from the same options.
 */
export class CredentialsHandle {
  readonly pool: AuthPool;

  constructor(pool: AuthPool) {
    this.pool = pool;
  }

  /** FreeCredentialsHandle: stops the workers and frees every context. */
  free(): Promise<void> {
    return this.pool.close();
  }
}

/** AcquireCredentialsHandle for the Negotiate package (SPNEGO: Kerberos, NTLM if enabled). */
export async function acquireCredentialsHandle(options: CredentialsHandleOptions = {}): Promise<CredentialsHandle> {
  const {
    keytab,
    principal,
    frontendPrincipals,
    ntlm,
    replayCache,
    sharedReplayCache,
    replayCacheSize,
    replayCachePrincipalQuota,
    replayCacheJournal,
    requireFlags,
    localName,
    delegationDir,
    delegationMaxFiles,
    s4u2proxy,
    ...rest
  } = options;
  // A CredentialOptions key left out of the list above would stay in `rest` and reach the pool
  // instead of the credentials (sharedReplayCache once did): this line then fails to compile.
  const pool: Omit<AuthPoolOptions, 'credentials'> & { [K in keyof CredentialOptions]?: never } = rest;
  const credentials: CredentialOptions = {};
  if (keytab !== undefined) credentials.keytab = keytab;
  if (principal !== undefined) credentials.principal = principal;
  if (frontendPrincipals !== undefined) credentials.frontendPrincipals = frontendPrincipals;
  if (ntlm !== undefined) credentials.ntlm = ntlm;
  if (replayCache !== undefined) credentials.replayCache = replayCache;
  if (sharedReplayCache !== undefined) credentials.sharedReplayCache = sharedReplayCache;
  if (replayCacheSize !== undefined) credentials.replayCacheSize = replayCacheSize;
  if (replayCachePrincipalQuota !== undefined) credentials.replayCachePrincipalQuota = replayCachePrincipalQuota;
  if (replayCacheJournal !== undefined) credentials.replayCacheJournal = replayCacheJournal;
  if (requireFlags !== undefined) credentials.requireFlags = requireFlags;
  if (localName !== undefined) credentials.localName = localName;
  if (delegationDir !== undefined) credentials.delegationDir = delegationDir;
  if (delegationMaxFiles !== undefined) credentials.delegationMaxFiles = delegationMaxFiles;
  if (s4u2proxy !== undefined) credentials.s4u2proxy = s4u2proxy;
  return new CredentialsHandle(await AuthPool.start({ credentials, ...pool }));
}

/** SECPKG_ATTR_NEGOTIATION_INFO's package name for each mechanism. */
const PACKAGE_NAMES = {
  krb5: 'Kerberos',
  ntlmssp: 'NTLM',
  unknown: 'unknown',
  basic: 'Basic',
} as const satisfies Record<Mechanism, string>;

/** QueryContextAttributes: NAMES, NEGOTIATION_INFO (package), FLAGS, LIFESPAN. */
export interface ContextAttributes {
  /** SECPKG_ATTR_NAMES: the client principal. */
  readonly names: string;
  /** SECPKG_ATTR_NEGOTIATION_INFO: 'Kerberos' or 'NTLM'. */
  readonly packageName: (typeof PACKAGE_NAMES)[Mechanism];
  /** True when the client used the Negotiate package (SPNEGO) rather than a raw mechanism. */
  readonly negotiated: boolean;
  /** ASC_RET_* as GSS flags: mutual, replay, sequence, integrity, confidentiality, delegation. */
  readonly flags: SessionInfo['flags'];
  /** SECPKG_ATTR_LIFESPAN expiry (ms since the epoch), or null. */
  readonly expiresAt: number | null;
  /**
   * The counterpart of SECPKG_ATTR_ACCESS_TOKEN / QuerySecurityContextToken: the user and group
   * SIDs of the verified PAC (Kerberos tickets from AD only).
   */
  readonly accessToken?: PacInfo;
}

/**
 * A CtxtHandle: one per connection. Starts empty; acceptSecurityContext fills it leg by leg.
 * Always delete it (DeleteSecurityContext) when the connection ends.
 */
export class SecurityContextHandle {
  readonly connectionId: number = nextConnectionId();
  #session: Session | undefined;
  #credentials: CredentialsHandle | undefined;
  #deleted = false;

  /** True after delete(): the handle cannot be used again. */
  get deleted(): boolean {
    return this.#deleted;
  }

  /** QueryContextAttributes; undefined until the handshake completed. */
  get attributes(): ContextAttributes | undefined {
    const s = this.#session;
    if (!s) return undefined;
    return {
      names: s.principal,
      packageName: PACKAGE_NAMES[s.mech],
      negotiated: s.spnego,
      flags: s.flags,
      expiresAt: s.expiresAt,
      ...(s.pac !== undefined ? { accessToken: s.pac } : {}),
    };
  }

  /** The established context as a Session (wrap/unwrap/MIC), once complete. */
  get session(): Session | undefined {
    return this.#session;
  }

  /**
   * DeleteSecurityContext. Idempotent. Safe while a leg is still running: its context is freed
   * when the leg returns.
   */
  delete(): void {
    this.#deleted = true;
    this.#credentials?.pool.release(this.connectionId);
    this.#session?.close();
  }

  /** @internal */
  bind(credentials: CredentialsHandle, session?: Session): void {
    this.#credentials = credentials;
    if (session) this.#session = session;
  }
}

/** SEC_I_CONTINUE_NEEDED (send the output, read the next token) or SEC_E_OK (done). */
export type AcceptStatus = 'SEC_I_CONTINUE_NEEDED' | 'SEC_E_OK';

export interface AcceptResult {
  status: AcceptStatus;
  /** The token to send to the client; may be empty (then send nothing). */
  outputToken: Buffer;
  /** Set with SEC_E_OK. */
  attributes?: ContextAttributes;
}

/**
 * AcceptSecurityContext(credentials, context, input, ASC_REQ_MUTUAL_AUTH). Mutual
 * authentication is the client's request in GSSAPI: when it asks, the output of the last leg
 * is the AP-REP that proves the server to it. Failures throw AcceptError (a GssError; its
 * `output` is an error token to send before closing) or ContextError.
 */
export async function acceptSecurityContext(
  credentials: CredentialsHandle,
  context: SecurityContextHandle,
  inputToken: Uint8Array,
): Promise<AcceptResult> {
  if (context.session) throw new ContextError('ERR_CONTEXT_ESTABLISHED', 'the context is already complete');
  if (context.deleted) throw new ContextError('ERR_CONTEXT_NOT_FOUND', 'the context was deleted');
  context.bind(credentials);
  // delete() during the leg may have found nothing to free yet: the pool frees it on return.
  const step = await credentials.pool.accept(context.connectionId, inputToken, { abandoned: () => context.deleted });
  if (context.deleted) throw new ContextError('ERR_CONTEXT_NOT_FOUND', 'the context was deleted during the handshake');
  if (step.status === 'continue') return { status: 'SEC_I_CONTINUE_NEEDED', outputToken: step.output };
  // No socket here: the application owns the connection, and its peer is not known.
  const session = sessionFromStep(credentials.pool, step, {
    connectionId: context.connectionId,
    frontend: 'sspi',
    remoteAddress: undefined,
    remotePort: undefined,
  });
  context.bind(credentials, session);
  const attributes = context.attributes;
  return attributes
    ? { status: 'SEC_E_OK', outputToken: step.output, attributes }
    : { status: 'SEC_E_OK', outputToken: step.output };
}

function established(context: SecurityContextHandle): Session {
  const s = context.session;
  if (!s) throw new ContextError('ERR_CONTEXT_NOT_ESTABLISHED', 'the handshake on this context is not complete');
  return s;
}

/** EncryptMessage with [SECBUFFER_TOKEN, SECBUFFER_DATA]: the trailer and the ciphertext. */
export async function encryptMessage(
  context: SecurityContextHandle,
  message: Uint8Array,
): Promise<{ trailer: Buffer; ciphertext: Buffer }> {
  return established(context).encryptMessage(message);
}

/**
 * DecryptMessage of [TOKEN = trailer, DATA = ciphertext] as EncryptMessage (ours or a
 * Windows peer's with Kerberos AES or NTLM) lays them out: their concatenation is a GSS wrap
 * token. Rejects tampered, replayed or out-of-order messages.
 */
export async function decryptMessage(
  context: SecurityContextHandle,
  trailer: Uint8Array,
  ciphertext: Uint8Array,
): Promise<Buffer> {
  return (await established(context).unwrap(Buffer.concat([trailer, ciphertext]))).message;
}

/** MakeSignature: a MIC over the message. */
export async function makeSignature(context: SecurityContextHandle, message: Uint8Array): Promise<Buffer> {
  return established(context).getMic(message);
}

/** VerifySignature: rejects with ERR_GSS_BAD_SIG (or a replay/sequence code) when it does not verify. */
export async function verifySignature(
  context: SecurityContextHandle,
  message: Uint8Array,
  signature: Uint8Array,
): Promise<void> {
  return established(context).verifyMic(message, signature);
}
