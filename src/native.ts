/**
 * Loads the native addon (build/Release/negotiate.node) and types its surface. The addon is
 * loaded once per thread: the main thread uses only the context-table calls, workers run the
 * GSSAPI calls.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { ConfigError } from './errors.js';
import { ACCEPT_SHAPES, type AcceptShapes, type NativeAcceptResult, type NativeFailure } from './acceptResults.js';

export {
  flagsFromBits,
  type AcceptShapes,
  type ContextFlags,
  type DelegationKind,
  type NativeAcceptComplete,
  type NativeAcceptExtras,
  type NativeAcceptResult,
  type NativeFailure,
  type PacInfo,
  type PacUpnDnsInfo,
  type SharedReplayTag,
} from './acceptResults.js';

export interface NativeCredentialOptions {
  keytab?: string;
  principal?: string;
  ntlm?: boolean;
  /** MIT replay cache name: '' for the default, 'none:', 'file2:/path', 'dfl:'. */
  replayCache?: string;
  /** MIT's cache off, the addon's process-wide in-memory cache on (configureReplayCache first). */
  memoryReplayCache?: boolean;
  /** MIT's cache off; each completed krb5 context reports its shared tag (`replay`) for a shared store. */
  sharedReplayTag?: boolean;
  /** The slot this credential is kept under in its thread ('' by default; a front end's name). */
  slot?: string;
  /** GSS flag bits a context must carry to complete (ERR_GSS_FLAGS_REQUIRED otherwise). */
  requiredFlags?: number;
  /** Map each completed client to a local name with gss_localname (krb5.conf auth_to_local). */
  localName?: boolean;
  /** Report the acceptor principal of each completed context (`servicePrincipal`). */
  servicePrincipal?: boolean;
  /** Absolute path: write delegated credentials to new ccache files here (`delegated`). */
  delegationDir?: string;
  /** Acquire for accept and initiate (keytab as client keytab): S4U2Proxy credentials at accept. */
  s4u2proxy?: boolean;
}

/** The in-memory replay cache (all zero and enabled: false unless `--replay-cache memory`). */
export interface NativeReplayStats {
  enabled: boolean;
  /** Authenticator tags held now (each for windowMs after its accept, up to a quarter window more). */
  entries: number;
  capacity: number;
  /** Most tags one client principal may hold. */
  principalQuota: number;
  windowMs: number;
  recorded: number;
  /** Accepts refused because their authenticator was seen before. */
  replays: number;
  /** Accepts refused because the cache was full (failing closed). */
  refusedFull: number;
  /** Accepts refused because their principal held its quota (ERR_REPLAY_QUOTA). */
  refusedQuota: number;
  /** Tag tables held (one per quarter window; more only after the wall clock stepped back). */
  generations: number;
  /** Memory the tags take, in bytes (tables and per-principal counts). */
  bytes: number;
  /** Whether every tag is also journaled to a directory (`--replay-cache-journal`). */
  journal: boolean;
  /** Tags read back from the journal at start (still within their window then). */
  journalLoaded: number;
  /** Journal files in the directory (one per generation). */
  journalFiles: number;
  /** Accepts refused because their tag could not be journaled (ERR_REPLAY_CACHE_UNAVAILABLE). */
  refusedJournal: number;
}

export interface NativeContextStats {
  live: number;
  handshaking: number;
  established: number;
  inUse: number;
  created: number;
  completed: number;
  failed: number;
  released: number;
  expired: number;
  refusedFull: number;
  refusedBusy: number;
  /** Released contexts whose gss_delete_sec_context a worker has not run yet (at most 1024). */
  pendingDelete: number;
}

/**
 * The acceptor's channel bindings for one accept leg: the application data only (addresses are
 * GSS_C_AF_UNSPEC and empty). `required` refuses a completed context that is not channel-bound
 * (ERR_CHANNEL_BINDING_REQUIRED); bindings that do not match the client's always fail the leg
 * (ERR_CHANNEL_BINDING_MISMATCH).
 */
export interface NativeBindings {
  applicationData?: Uint8Array;
  required?: boolean;
}

export interface NativeAddon {
  acquireCredentials(options: NativeCredentialOptions): { ok: true } | NativeFailure;
  /** One accept leg with the credential acquired under `slot` (default ''), with the channel's bindings if any. */
  accept(connectionId: number, token: Uint8Array, slot?: string, bindings?: NativeBindings): NativeAcceptResult;
  /** The functions accept makes its results with, once per thread (loadNative does it). */
  setAcceptShapes(shapes: AcceptShapes): void;
  wrap(
    connectionId: number,
    message: Uint8Array,
    confidential: boolean,
  ): { ok: true; token: Uint8Array; confidential: boolean } | NativeFailure;
  unwrap(
    connectionId: number,
    token: Uint8Array,
  ): { ok: true; message: Uint8Array; confidential: boolean } | NativeFailure;
  getMic(connectionId: number, message: Uint8Array): { ok: true; mic: Uint8Array } | NativeFailure;
  verifyMic(connectionId: number, message: Uint8Array, mic: Uint8Array): { ok: true } | NativeFailure;
  encryptMessage(
    connectionId: number,
    message: Uint8Array,
  ): { ok: true; trailer: Uint8Array; ciphertext: Uint8Array } | NativeFailure;
  configureTable(options: { maxContexts: number; handshakeTtlMs: number }): void;
  release(connectionId: number): boolean;
  releaseAll(): number;
  /** Runs gss_delete_sec_context for up to `max` released contexts (default all); returns how many. */
  deletePending(max?: number): number;
  sweep(): number;
  stats(): NativeContextStats;
  /** The unique principal names in a keytab (a path or TYPE:residual name). */
  listKeytab(path: string): { ok: true; principals: string[] } | NativeFailure;
  /**
   * Copies a keytab into the new memory keytab `memoryName` (`MEMORY:...`, never used before),
   * which the process keeps alive until dropKeytabSnapshot.
   */
  snapshotKeytab(source: string, memoryName: string): { ok: true; entries: number } | NativeFailure;
  /** Lets go of the process's reference; credentials acquired from it keep theirs. */
  dropKeytabSnapshot(memoryName: string): void;
  /**
   * Turns on (or re-tunes) the process-wide in-memory replay cache; windowMs defaults to
   * 2 x krb5's clockskew, principalQuota to a quarter of the capacity. `journal` (an absolute
   * directory) makes the tags survive a restart: the first call opens it and loads its tags
   * (native/src/replay/replay_journal.h); ERR_CONFIG when it cannot.
   */
  configureReplayCache(options: {
    capacity: number;
    windowMs?: number;
    principalQuota?: number;
    journal?: string;
  }): { ok: true; windowMs: number; principalQuota: number; journalLoaded: number } | NativeFailure;
  replayStats(): NativeReplayStats;
  /**
   * S4U2Self then S4U2Proxy as `service` (its key from `keytab`): writes the user's ticket for
   * `target` to a new ccache file in `dir`. Blocks on the KDC: workers only (src/s4u/).
   */
  impersonate(options: NativeImpersonateOptions): NativeImpersonateResult;
  /**
   * A user's password checked by an AS exchange with the KDC, the reply then verified with the
   * service's key from `keytab` (native/src/basic/). Zeroes `password`. Blocks on the KDC:
   * workers only (src/basic/).
   */
  checkPassword(options: NativeCheckPasswordOptions): NativeCheckPasswordResult;
}

export interface NativeCheckPasswordOptions {
  user: string;
  password: Uint8Array;
  keytab?: string;
  server?: string;
}

export type NativeCheckPasswordResult =
  { ok: true; principal: string; localName?: string; defaultRealm?: string; endTime: number } | NativeFailure;

export interface NativeImpersonateOptions {
  keytab?: string;
  service: string;
  user: string;
  target: string;
  dir: string;
}

export type NativeImpersonateResult =
  { ok: true; path: string; client: string; target: string; lifetime: number } | NativeFailure;

const packageRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where the addon is expected; dist/src/native.js sits two levels below the package root. */
export const nativeAddonPath = path.join(packageRoot, 'build', 'Release', 'negotiate.node');

let cached: NativeAddon | undefined;

/** Loads the addon, throwing ERR_NATIVE_MISSING with the fix when it was not built. */
export function loadNative(): NativeAddon {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  try {
    cached = require(nativeAddonPath) as NativeAddon;
  } catch (err) {
    throw new ConfigError(
      'ERR_NATIVE_MISSING',
      `cannot load the native addon at ${nativeAddonPath}: ${(err as Error).message}. ` +
        'Build it with: apt-get install -y libkrb5-dev && npm run build:native',
      { cause: err },
    );
  }
  cached.setAcceptShapes(ACCEPT_SHAPES);
  return cached;
}

/** A view of a result buffer as a Buffer (results crossing postMessage arrive as Uint8Array). */
export function asBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/**
 * The pool's hand-off queue (native/src/handoff/, src/pool/NativeHandoff.ts): calls and
 * results cross as encoded bytes (workers/wireCodec.ts), a batch as one buffer of frames
 * (workers/wireFrames.ts). Merged into NativeAddon.
 */
export interface NativeAddon {
  /** A new queue for `workers` threads; `onResults` runs on this thread, once per batch of results. */
  handoffOpen(workers: number, onResults: (results: Uint8Array) => void): number;
  /** Queues calls (frames); false once the queue is closed. */
  handoffSubmit(queue: number, calls: Uint8Array): boolean;
  /** Lets `worker` take calls, until it is evicted or the queue closes (a new id per serve task). */
  handoffAdmit(queue: number, worker: number): void;
  /**
   * Worker threads: blocks up to `timeoutMs` for calls, written as frames into `into`: their
   * length (0: none came), or a new array holding them when they do not fit; null: stop serving.
   */
  handoffTake(queue: number, worker: number, timeoutMs: number, into: Uint8Array): number | Uint8Array | null;
  /** Worker threads: the results of calls this worker took (frames). */
  handoffFinish(queue: number, worker: number, results: Uint8Array): void;
  /** The results waiting now, as frames (the wake-up drains them too). */
  handoffDrain(queue: number): Uint8Array;
  /** Removes a call no worker took yet; false if one holds it or it is gone. */
  handoffCancel(queue: number, seq: number): boolean;
  /** The worker holding the call, or -1. */
  handoffHolder(queue: number, seq: number): number;
  /** Stops the worker's serving and returns the calls it held, unanswered. */
  handoffEvict(queue: number, worker: number): number[];
  /** Stops every worker's serving; returns the calls none took. Results of held calls still arrive. */
  handoffClose(queue: number): number[];
  /** Frees the queue (after handoffClose, once its workers stopped). */
  handoffDispose(queue: number): void;
  /** Calls waiting for a worker. */
  handoffWaiting(queue: number): number;
}
