/**
 * The typed messages between the pool (main thread) and the accept workers. Workers never
 * throw for protocol failures: they return the addon's plain result values, because an Error
 * crossing postMessage loses its class and code.
 */
import type { NativeAcceptResult, NativeCredentialOptions, NativeFailure } from '../src/native.js';

/** Given to every worker at start (Piscina workerData). */
export interface WorkerSetup {
  credentials: NativeCredentialOptions;
  table: { maxContexts: number; handshakeTtlMs: number };
  /**
   * When the keytab is served from memory snapshots: slot 0 of `cells` is the current
   * snapshot's generation, and the snapshot is named `${prefix}${generation}`. A worker
   * re-acquires its credential when the generation moves (a reload).
   */
  keytab?: { cells: SharedArrayBuffer; prefix: string };
}

export interface AcceptTask {
  id: number;
  token: Uint8Array;
  /** Free the context right after this leg, on the worker (single-leg uses such as HTTP). */
  releaseAfter?: boolean;
  /**
   * If the leg completes, EncryptMessage this plaintext with the new context in the same task
   * (the sspi greeting), saving a second round trip to a worker.
   */
  sealOnComplete?: Uint8Array;
}

/** The sealed message of AcceptTask.sealOnComplete, or the failure of sealing it. */
export type SealResult = { ok: true; trailer: Uint8Array; ciphertext: Uint8Array } | NativeFailure;

/** One call in a batch (see src/pool/BatchDispatcher.ts). */
export type BatchCall = { op: 'accept'; task: AcceptTask } | { op: 'protect'; task: ProtectTask };

export type ProtectOp = 'wrap' | 'unwrap' | 'getMic' | 'verifyMic' | 'encryptMessage';

export interface ProtectTask {
  op: ProtectOp;
  id: number;
  data: Uint8Array;
  /** wrap: request confidentiality; ignored otherwise. */
  confidential?: boolean;
  /** verifyMic: the MIC token. */
  mic?: Uint8Array;
}

export type ProtectResult =
  | { ok: true; token: Uint8Array; confidential: boolean }
  | { ok: true; message: Uint8Array; confidential: boolean }
  | { ok: true; mic: Uint8Array }
  | { ok: true; trailer: Uint8Array; ciphertext: Uint8Array }
  | { ok: true }
  | NativeFailure;

export type { NativeAcceptResult };
