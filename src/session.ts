/**
 * An authenticated connection: the proven client identity and message protection with its
 * security context. Protection calls run on the worker pool; the context is freed by close()
 * or when the connection ends.
 */
import type { AuthPool } from './pool/AuthPool.js';
import type { ContextFlags, DelegationKind, PacInfo } from './native.js';
import { asBuffer } from './native.js';
import type { Frontend, Mechanism, ProvenIdentity } from './handshake/identity.js';

export type { Frontend } from './handshake/identity.js';

/**
 * What the handshake established (SSPI: QueryContextAttributes NAMES, NEGOTIATION_INFO, FLAGS,
 * LIFESPAN) and where. Built by sessionFromStep (src/handshake/).
 */
export interface SessionInfo extends ProvenIdentity {
  /** Connection id, unique in this process. */
  readonly connectionId: number;
  readonly frontend: Frontend;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  /** Handshake latency: from the connection's accept to the context's completion, ms. */
  readonly latencyMs?: number | undefined;
}

export class Session implements SessionInfo {
  readonly connectionId: number;
  readonly frontend: Frontend;
  readonly principal: string;
  readonly mech: Mechanism;
  readonly spnego: boolean;
  readonly flags: ContextFlags;
  readonly expiresAt: number | null;
  readonly pac?: PacInfo;
  readonly localName?: string;
  readonly delegatedCcache?: string;
  readonly delegation?: DelegationKind;
  readonly extra?: Record<string, unknown>;
  readonly remoteAddress: string | undefined;
  readonly remotePort: number | undefined;
  readonly latencyMs: number | undefined;
  readonly #pool: AuthPool;
  #closed = false;

  constructor(pool: AuthPool, info: SessionInfo) {
    this.#pool = pool;
    this.connectionId = info.connectionId;
    this.frontend = info.frontend;
    this.principal = info.principal;
    this.mech = info.mech;
    this.spnego = info.spnego;
    this.flags = info.flags;
    this.expiresAt = info.expiresAt;
    if (info.pac !== undefined) this.pac = info.pac;
    if (info.localName !== undefined) this.localName = info.localName;
    if (info.delegatedCcache !== undefined) this.delegatedCcache = info.delegatedCcache;
    if (info.delegation !== undefined) this.delegation = info.delegation;
    if (info.extra !== undefined) this.extra = info.extra;
    this.remoteAddress = info.remoteAddress;
    this.remotePort = info.remotePort;
    this.latencyMs = info.latencyMs;
  }

  /** gss_wrap (SSPI EncryptMessage / MakeSignature with a single token). Confidential by default. */
  async wrap(message: Uint8Array, options: { confidential?: boolean } = {}): Promise<Buffer> {
    const conf = options.confidential ?? true;
    const r = await this.#pool.protect({ op: 'wrap', id: this.connectionId, data: message, confidential: conf });
    return asBuffer(r.token);
  }

  /** gss_unwrap. Rejects replayed, reordered or tampered messages (ERR_GSS_BAD_SIG, ERR_GSS_REPLAY, ...). */
  async unwrap(token: Uint8Array): Promise<{ message: Buffer; confidential: boolean }> {
    const r = await this.#pool.protect({ op: 'unwrap', id: this.connectionId, data: token });
    return { message: asBuffer(r.message), confidential: r.confidential };
  }

  /** gss_get_mic (SSPI MakeSignature). */
  async getMic(message: Uint8Array): Promise<Buffer> {
    const r = await this.#pool.protect({ op: 'getMic', id: this.connectionId, data: message });
    return asBuffer(r.mic);
  }

  /** gss_verify_mic (SSPI VerifySignature). Rejects on a bad or replayed MIC. */
  async verifyMic(message: Uint8Array, mic: Uint8Array): Promise<void> {
    await this.#pool.protect({ op: 'verifyMic', id: this.connectionId, data: message, mic });
  }

  /**
   * SSPI EncryptMessage with buffers [TOKEN, DATA]: the security trailer and the ciphertext,
   * laid out as a Windows peer's DecryptMessage expects (PROTOCOLS.md §1).
   */
  async encryptMessage(message: Uint8Array): Promise<{ trailer: Buffer; ciphertext: Buffer }> {
    const r = await this.#pool.protect({ op: 'encryptMessage', id: this.connectionId, data: message });
    return { trailer: asBuffer(r.trailer), ciphertext: asBuffer(r.ciphertext) };
  }

  /**
   * Frees the security context (SSPI DeleteSecurityContext), and ends this connection's hold on
   * its delegated credential (the file is removed when no other connection holds it). Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pool.release(this.connectionId);
  }

  /** Plain data for logs and JSON answers. */
  toJSON(): Omit<SessionInfo, 'connectionId'> & { connectionId: number } {
    return {
      connectionId: this.connectionId,
      frontend: this.frontend,
      principal: this.principal,
      mech: this.mech,
      spnego: this.spnego,
      flags: this.flags,
      expiresAt: this.expiresAt,
      ...(this.pac !== undefined ? { pac: this.pac } : {}),
      // The delegated ccache's path stays out: it names a server file, not the client.
      ...(this.localName !== undefined ? { localName: this.localName } : {}),
      ...(this.extra !== undefined ? { extra: this.extra } : {}),
      remoteAddress: this.remoteAddress,
      remotePort: this.remotePort,
    };
  }
}
