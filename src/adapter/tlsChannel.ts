/**
 * The adapter's channel binding (Extended Protection): what each accept step of a request is
 * bound to, from the request's socket. On a node:tls socket it is RFC 5929's
 * tls-server-end-point of the certificate *that connection* was served, read from the socket
 * (not from a file or an option), so a server that swaps its certificate (setSecureContext, SNI)
 * binds each connection to the one it actually presented.
 *
 * On a plain socket there is no channel: nothing is bound, and `required` is passed on so the
 * acceptor refuses (ERR_CHANNEL_BINDING_REQUIRED). Behind a TLS-terminating proxy every socket
 * is plain, so `required` refuses everyone there (docs/adapter.md).
 */
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import { ConfigError, type NegotiateErrorCode } from '../errors.js';
import type { ChannelBindingMode } from './types.js';
import { tlsServerEndPoint, type ChannelBindingPolicy } from '../tls/channelBindings.js';

/** What a request's accept steps add to AuthPool.accept's options. */
export interface ChannelAccept {
  channelBindings?: Uint8Array;
  channelBinding: ChannelBindingPolicy;
}

/** A request refused before any accept step: its connection cannot satisfy the policy. */
export interface ChannelRefusal {
  code: NegotiateErrorCode;
  reason: string;
}

/** Certificates remembered at once: a server serves one, or a few (SNI, a swap in progress). */
const MAX_CERTIFICATES = 8;

/** A certificate's binding, or why RFC 5929 gives it none (Ed25519, Ed448). */
type Binding = { bindings: Buffer } | { unavailable: string };

/**
 * Channel bindings per certificate served, for one authenticator. Keyed by the certificate's
 * SHA-256 fingerprint (of its DER), bounded (oldest out first), so a certificate swap needs nothing from the
 * caller: the next TLS connection presents the new one and gets its binding.
 */
export class TlsChannels {
  readonly policy: ChannelBindingPolicy;
  readonly #byFingerprint = new Map<string, Binding>();
  /** A connection's certificate never changes: keep-alive requests skip getCertificate(). */
  readonly #bySocket = new WeakMap<TLSSocket, Binding>();

  constructor(policy: ChannelBindingPolicy) {
    this.policy = policy;
  }

  /** The accept options for a request on `socket`, or the refusal `required` makes of it. */
  acceptOptions(socket: Socket): ChannelAccept | ChannelRefusal {
    const channelBinding = this.policy;
    // `off` binds nothing and checks nothing: no need to look at the certificate.
    if (channelBinding === 'off' || !(socket instanceof TLSSocket) || !socket.encrypted) return { channelBinding };
    const binding = this.#bindingOf(socket);
    if ('bindings' in binding) return { channelBindings: binding.bindings, channelBinding };
    if (channelBinding === 'required') {
      return {
        code: 'ERR_CHANNEL_BINDING_REQUIRED',
        reason:
          'channel binding is required but the certificate this connection was served has none: ' + binding.unavailable,
      };
    }
    return { channelBinding };
  }

  #bindingOf(socket: TLSSocket): Binding {
    const known = this.#bySocket.get(socket);
    if (known !== undefined) return known;
    const cert = socket.getCertificate();
    let binding: Binding;
    if (cert === null || !('raw' in cert) || !Buffer.isBuffer(cert.raw)) {
      binding = { unavailable: 'the TLS connection has no server certificate' };
    } else {
      const fingerprint = createHash('sha256').update(cert.raw).digest('hex');
      binding = this.#byFingerprint.get(fingerprint) ?? this.#remember(fingerprint, bindingFor(cert.raw));
    }
    this.#bySocket.set(socket, binding);
    return binding;
  }

  #remember(fingerprint: string, binding: Binding): Binding {
    if (this.#byFingerprint.size >= MAX_CERTIFICATES) {
      const oldest = this.#byFingerprint.keys().next().value;
      if (oldest !== undefined) this.#byFingerprint.delete(oldest);
    }
    this.#byFingerprint.set(fingerprint, binding);
    return binding;
  }
}

function bindingFor(der: Buffer): Binding {
  try {
    return { bindings: tlsServerEndPoint(der) };
  } catch (err) {
    // ConfigError ERR_TLS_CERTIFICATE: RFC 5929 defines no binding for this signature algorithm.
    return { unavailable: err instanceof Error ? err.message : String(err) };
  }
}

/** The `channelBinding` option, checked: ConfigError ERR_CONFIG for anything else. */
export function channelBindingMode(value: unknown): ChannelBindingMode {
  if (value === undefined) return 'when-supported';
  if (value === 'off' || value === 'when-supported' || value === 'required') return value;
  throw new ConfigError(
    'ERR_CONFIG',
    `channelBinding must be 'off', 'when-supported' or 'required', not ${JSON.stringify(value)}`,
  );
}
