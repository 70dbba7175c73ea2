/**
 * The typed messages between the pool (main thread) and the accept workers: one request and one
 * result type per op, and the named Piscina tasks that carry them. Workers never throw for
 * protocol failures: they return the addon's plain result values, because an Error crossing
 * postMessage loses its class and code.
 */
import type { NativeAcceptResult, NativeAddon, NativeBindings, NativeCredentialOptions } from '../src/native.js';

/** Given to every worker at start (Piscina workerData). */
export interface WorkerSetup {
  credentials: NativeCredentialOptions;
  /** Credentials of front ends that pin their own principal, each acquired under its `slot`. */
  slotCredentials?: NativeCredentialOptions[];
  table: { maxContexts: number; handshakeTtlMs: number };
  /**
   * When the keytab is served from memory snapshots: slot 0 of `cells` is the current
   * snapshot's generation, and the snapshot is named `${prefix}${generation}`. A worker
   * re-acquires its credential when the generation moves (a reload).
   */
  keytab?: { cells: SharedArrayBuffer; prefix: string };
  /**
   * Diagnostics pools only: pairs of Int32 cells a stall names by `slot` (StallRequest,
   * StallCall): shared once at start, since a call on the native queue cannot carry a
   * SharedArrayBuffer.
   */
  stallCells?: SharedArrayBuffer;
}

/** One accept leg. */
export interface AcceptRequest {
  op: 'accept';
  id: number;
  token: Uint8Array;
  /** Free the context right after this leg, on the worker (single-leg uses such as HTTP). */
  releaseAfter?: boolean;
  /**
   * If the leg completes, EncryptMessage this plaintext with the new context in the same task
   * (the sspi greeting), saving a second round trip to a worker.
   */
  sealOnComplete?: Uint8Array;
  /** The front end's own acceptor credential (its pinned principal), if it has one. */
  slot?: string;
  /** The TLS channel's bindings (tls-server-end-point) and whether a bound context is required. */
  bindings?: NativeBindings;
}

/** The sealed message of AcceptRequest.sealOnComplete, or the failure of sealing it. */
export type SealResult = ReturnType<NativeAddon['encryptMessage']>;

/**
 * An accept leg's result: the addon's, plus the thread that ran it (diagnostics, and the proof
 * in tests that the legs of one context move between threads) and the sealed message.
 */
export type AcceptResult = NativeAcceptResult & { op: 'accept'; workerThreadId: number; sealed?: SealResult };

/** What each message-protection op takes besides `op` and `id`, on an established context. */
export interface ProtectArgs {
  /** gss_wrap; `confidential` asks for confidentiality. */
  wrap: { data: Uint8Array; confidential?: boolean };
  unwrap: { data: Uint8Array };
  getMic: { data: Uint8Array };
  /** gss_verify_mic of `mic` over `data` (an absent mic is an empty one, which fails). */
  verifyMic: { data: Uint8Array; mic?: Uint8Array };
  /** SSPI EncryptMessage: the trailer and the ciphertext. */
  encryptMessage: { data: Uint8Array };
}

/** What each message-protection op returns (a failure is a result too). */
export interface ProtectResults {
  wrap: ReturnType<NativeAddon['wrap']>;
  unwrap: ReturnType<NativeAddon['unwrap']>;
  getMic: ReturnType<NativeAddon['getMic']>;
  verifyMic: ReturnType<NativeAddon['verifyMic']>;
  encryptMessage: ReturnType<NativeAddon['encryptMessage']>;
}

export type ProtectOp = keyof ProtectArgs & keyof ProtectResults;

/** A message-protection call; `ProtectRequest<'wrap'>` is the wrap call alone. */
export type ProtectRequest<O extends ProtectOp = ProtectOp> = { [K in O]: { op: K; id: number } & ProtectArgs[K] }[O];

/** A message-protection call's result, tagged with its op. */
export type ProtectResult<O extends ProtectOp = ProtectOp> = { [K in O]: ProtectResults[K] & { op: K } }[O];

/** A message-protection call's result on success. */
export type ProtectSuccess<O extends ProtectOp = ProtectOp> = Extract<ProtectResult<O>, { ok: true }>;

/** One call in a batch (see src/pool/BatchDispatcher.ts). */
export type BatchCall = AcceptRequest | ProtectRequest;

/** One result per call of a batch, in the batch's order; `op` says which call it answers. */
export type BatchResult = AcceptResult | ProtectResult;

/**
 * The named tasks the production worker exports (Piscina's `name` option): each export is
 * checked against this on the worker side, and the pool's calls are typed by it.
 */
export interface WorkerTasks {
  /** Runs the calls in order; one result per call. An empty batch warms a thread. */
  batch: (calls: BatchCall[]) => BatchResult[];
  /** Serves the native hand-off queue (workers/serve.ts) until it stops or stays idle. */
  serve: (request: ServeRequest) => ServeEnd;
}

/** A serve task's queue (the addon's handoff id) and its worker id there (never reused). */
export interface ServeRequest {
  queue: number;
  worker: number;
  /** Return after this long without calls (the thread goes back to Piscina). */
  idleMs: number;
  /**
   * BigInt64 cell 0: microseconds the queue's serve tasks spent running calls, added by each
   * after every batch (the pool's utilization: a parked serve task is not busy).
   */
  busy: SharedArrayBuffer;
}

/** A diagnostics worker's stall (DiagnosticTasks) as a call on the native hand-off queue. */
export interface StallCall {
  op: 'stall';
  ms: number;
  /** As StallRequest's. */
  slot?: number;
}

/** The thread that stalled; -1 from the production worker, which does not stall. */
export interface StallResult {
  op: 'stall';
  threadId: number;
}

/** What crosses the native hand-off queue: the pool's calls, and a diagnostics worker's stall. */
export type ServeCall = BatchCall | StallCall;
export type ServeResult = BatchResult | StallResult;

/** Why a serve task returned: the queue stopped it (close, evict), or it stayed idle. */
export type ServeEnd = 'stopped' | 'idle';

/**
 * Blocks a worker thread, as a long native call would: for `ms` (at most 10 s), or, with `slot`,
 * until cell 0 of that pair of WorkerSetup.stallCells becomes non-zero. Cell 1 of the pair
 * receives the thread's id as soon as the stall starts.
 */
export interface StallRequest {
  ms: number;
  slot?: number;
}

/**
 * What a diagnostics worker adds to WorkerTasks: a worker module that re-exports the production
 * worker's tasks and adds these (the tests' test/fixtures/faultWorker.ts), given to the pool as
 * its `workerFile`. The production worker does not export them.
 */
export interface DiagnosticTasks {
  /** See StallRequest; returns the thread's id. */
  stall: (request: StallRequest) => number;
}
