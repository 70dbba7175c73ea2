/**
 * A worker's answers as the pool's callers get them: an accept result becomes an AcceptStep (or
 * its typed error), a protection result that op's success.
 */
import { asBuffer, type ContextFlags, type DelegationKind, type NativeAcceptResult, type PacInfo } from '../native.js';
import type { AcceptResult, BatchResult, ProtectOp, ProtectSuccess } from '../../workers/messages.js';
import { failureToError, mismatchedResult } from './failures.js';

/** One accept step's result. */
export type AcceptStep =
  | { status: 'continue'; output: Buffer; workerThreadId: number }
  | {
      status: 'complete';
      /** The worker thread that ran this leg (diagnostics). */
      workerThreadId: number;
      output: Buffer;
      principal: string;
      mech: Extract<NativeAcceptResult, { status: 'complete' }>['mech'];
      spnego: boolean;
      flags: ContextFlags;
      /** When the context expires (ms since the epoch), or null if it does not. */
      expiresAt: number | null;
      /** The verified Windows PAC (krb5 tickets from AD), when there is one. */
      pac?: PacInfo;
      /** The `sealOnComplete` plaintext, EncryptMessage'd in the same task (absent if sealing failed). */
      sealed?: { trailer: Buffer; ciphertext: Buffer };
      /** The client's local name (credentials.localName), when it has one. */
      localName?: string;
      /**
       * With credentials.delegationDir, when the client delegated: the FILE ccache holding its
       * credential (mode 0600), kept until the connection's release, the credential's end,
       * `pool.delegatedCredentials.release(path)` or the pool's close.
       */
      delegatedCcache?: string;
      /** What `delegatedCcache` holds: `forwarded` (the client's TGT) or `constrained` (credentials.s4u2proxy). */
      delegation?: DelegationKind;
    };

/**
 * Per op, the successful result of a protection call out of a batch result. Written out per op
 * so that protect() is typed by its op without a cast.
 */
export const protectSuccess: { [K in ProtectOp]: (r: Extract<BatchResult, { ok: true }>) => ProtectSuccess<K> } = {
  wrap: (r) => (r.op === 'wrap' ? r : mismatchedResult('wrap', r.op)),
  unwrap: (r) => (r.op === 'unwrap' ? r : mismatchedResult('unwrap', r.op)),
  getMic: (r) => (r.op === 'getMic' ? r : mismatchedResult('getMic', r.op)),
  verifyMic: (r) => (r.op === 'verifyMic' ? r : mismatchedResult('verifyMic', r.op)),
  encryptMessage: (r) => (r.op === 'encryptMessage' ? r : mismatchedResult('encryptMessage', r.op)),
};

/** A worker's accept result as the step callers get; throws the typed error of a failure. */
export function acceptStep(r: AcceptResult): AcceptStep {
  if (!r.ok) throw failureToError(r);
  if (r.status === 'continue')
    return { status: 'continue', output: asBuffer(r.output), workerThreadId: r.workerThreadId };
  return {
    status: 'complete',
    workerThreadId: r.workerThreadId,
    output: asBuffer(r.output),
    principal: r.principal,
    mech: r.mech,
    spnego: r.spnego,
    flags: r.flags,
    expiresAt: r.lifetime === null ? null : Date.now() + r.lifetime * 1000,
    ...(r.pac !== undefined ? { pac: r.pac } : {}),
    ...(r.sealed?.ok
      ? { sealed: { trailer: asBuffer(r.sealed.trailer), ciphertext: asBuffer(r.sealed.ciphertext) } }
      : {}),
  };
}
