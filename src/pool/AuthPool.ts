/**
 * The worker pool that runs every GSSAPI call off the socket-owning thread: batches calls to
 * the worker threads over a bounded queue, turns their results into steps or typed errors, and
 * owns the process-wide context table's lifecycle (release, sweep, shutdown). The threads live
 * in WorkerThreads, the credential in AcceptorCredentials, the error mapping in failures.ts.
 */
import { DelegatedCredentials } from '../delegation/DelegatedCredentials.js';
import { PoolError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';
import { loadNative, type NativeAddon, type NativeContextStats, type NativeReplayStats } from '../native.js';
import type { BatchCall, BatchResult, ProtectRequest, ProtectSuccess } from '../../workers/messages.js';
import { acceptCall, ownBytes, type AcceptOptions } from './acceptCall.js';
import { AcceptorCredentials } from './AcceptorCredentials.js';
import { SharedReplayCheck } from '../replay/SharedReplayCheck.js';
import { acceptStep, protectSuccess, type AcceptStep } from './callResults.js';
import type { LocalNames } from './localName.js';
import { callDispatcher, type CallDispatcher, type HandoffKind } from './callDispatcher.js';
import { slotCredentials, type AcceptorSlot, type CredentialOptions } from './credentials.js';
import { AcceptError, failureToError, mismatchedResult } from './failures.js';
import { identityFields } from './identityFields.js';
import type { KeytabLoad } from './KeytabSnapshots.js';
import { WorkerThreads } from './WorkerThreads.js';

// Where the front ends and src/index.ts import them from.
export { AcceptError, type AcceptOptions, type AcceptStep };

export interface AuthPoolOptions {
  credentials: CredentialOptions;
  /** Worker threads. Default: the number of CPUs. */
  workers?: number;
  /**
   * Calls allowed to wait for a worker, beyond one running per worker; beyond it calls fail with ERR_POOL_QUEUE_FULL.
   * Default 1024.
   */
  maxQueue?: number;
  /**
   * A task still running after this many ms fails with ERR_POOL_TASK_TIMEOUT and its worker is replaced. Default 5000.
   */
  taskTimeoutMs?: number;
  /** Most security contexts alive at once (handshakes and sessions). Default 100000. */
  maxContexts?: number;
  /** A handshake idle this long is freed by the sweep. Default 30000 ms. */
  handshakeTtlMs?: number;
  /**
   * Tests: a worker module that re-exports this package's worker (workers/accept.worker.js) and
   * adds the diagnostics tasks (DiagnosticTasks in workers/messages.ts), which stallWorker,
   * stallWorkerWhile and terminateWorker need. Default: the production worker, without them.
   */
  workerFile?: string;
  /**
   * How calls reach the worker threads: 'native' (each worker parked on the addon's queue: about
   * half the CPU per call of a Piscina task, docs/performance.md) or 'piscina' (a Piscina task
   * per batch of calls). Default 'native'.
   */
  handoff?: HandoffKind;
  /**
   * Where the pool reports what no caller sees in a result: a ticket's PAC left unused (why, and
   * whose). Default: silent.
   */
  logger?: Logger;
}

/** Bound on a worker thread's start (loading the addon, acquiring its credentials). */
const WARM_UP_TIMEOUT_MS = 30_000;

export class AuthPool {
  readonly workers: number;
  readonly maxQueue: number;
  readonly taskTimeoutMs: number;
  private readonly threads: WorkerThreads;
  private readonly addon: NativeAddon;
  private readonly sweepTimer: NodeJS.Timeout;
  private readonly credentials: AcceptorCredentials;
  /** Front ends with a principal of their own (CredentialOptions.frontendPrincipals). */
  private readonly slots: ReadonlySet<AcceptorSlot>;
  /** Accept and protect calls go to the workers through this; diagnostics tasks go directly. */
  private readonly calls: CallDispatcher;
  private readonly logger: Logger;
  private closed = false;
  /** The delegated credentials kept on disk (credentials.delegationDir), or undefined. */
  readonly delegatedCredentials: DelegatedCredentials | undefined;
  /** The replay check on Redis (credentials.replayCache `redis://...`), or undefined. */
  sharedReplay: SharedReplayCheck | undefined;

  private constructor(
    threads: WorkerThreads,
    addon: NativeAddon,
    opts: { workers: number; maxQueue: number; taskTimeoutMs: number; handshakeTtlMs: number; handoff: HandoffKind },
    credentials: AcceptorCredentials,
    logger: Logger,
    delegatedCredentials: DelegatedCredentials | undefined,
  ) {
    this.delegatedCredentials = delegatedCredentials;
    this.threads = threads;
    this.logger = logger;
    this.addon = addon;
    this.credentials = credentials;
    this.slots = new Set(slotCredentials(credentials.options).map(([slot]) => slot));
    // As many calls may wait as Piscina's queue allowed before, plus one running per worker.
    this.calls = callDispatcher(opts.handoff, threads, addon, {
      workers: opts.workers,
      limit: opts.maxQueue + opts.workers,
      taskTimeoutMs: opts.taskTimeoutMs,
    });
    this.workers = opts.workers;
    this.maxQueue = opts.maxQueue;
    this.taskTimeoutMs = opts.taskTimeoutMs;
    // Workers sweep on their own as they check contexts out, but an idle server must free
    // abandoned handshakes too.
    // Also deletes released contexts no batch has picked up (an idle server).
    this.sweepTimer = setInterval(
      () => {
        addon.sweep();
        addon.deletePending();
      },
      Math.min(opts.handshakeTtlMs, 5000),
    );
    this.sweepTimer.unref();
  }

  /** The local-name mode of this pool's credentials, its rules file read (Basic uses it too). */
  get localNames(): LocalNames {
    return this.credentials.localNames;
  }

  /**
   * Checks the credentials on this thread first (so a bad keytab fails start with a clear
   * error instead of failing every handshake), then starts the workers and waits until each
   * has acquired its own credential.
   */
  static async start(options: AuthPoolOptions): Promise<AuthPool> {
    const opts = {
      workers: options.workers ?? (await import('node:os')).availableParallelism(),
      maxQueue: options.maxQueue ?? 1024,
      taskTimeoutMs: options.taskTimeoutMs ?? 5000,
      maxContexts: options.maxContexts ?? 100_000,
      handshakeTtlMs: options.handshakeTtlMs ?? 30_000,
      handoff: options.handoff ?? 'native',
    };
    const addon = loadNative();
    const table = { maxContexts: opts.maxContexts, handshakeTtlMs: opts.handshakeTtlMs };
    addon.configureTable(table);
    const logger = options.logger ?? silentLogger;
    const { delegationDir, delegationMaxFiles } = options.credentials;
    // Checked first: no worker may write a user's credential to a directory others control.
    const delegated =
      delegationDir === undefined
        ? undefined
        : await DelegatedCredentials.open({
            dir: delegationDir,
            logger,
            ...(delegationMaxFiles === undefined ? {} : { maxFiles: delegationMaxFiles }),
          });
    let credentials: AcceptorCredentials;
    let sharedReplay: SharedReplayCheck | undefined;
    try {
      credentials = await AcceptorCredentials.prepare(addon, options.credentials);
      const replay = addon.replayStats();
      if (replay.journal && options.credentials.replayCacheJournal !== undefined) {
        logger.info('replay journal opened', {
          dir: options.credentials.replayCacheJournal,
          loaded: replay.journalLoaded,
          files: replay.journalFiles,
        });
      }
      sharedReplay = await SharedReplayCheck.open(options.credentials, logger);
    } catch (err) {
      await delegated?.close();
      throw err;
    }
    const threads = new WorkerThreads({
      threads: opts.workers,
      maxQueue: opts.maxQueue,
      taskTimeoutMs: opts.taskTimeoutMs,
      setup: { ...credentials.workerSetup(), table },
      ...(options.workerFile === undefined ? {} : { workerFile: options.workerFile }),
    });
    const pool = new AuthPool(threads, addon, opts, credentials, logger, delegated);
    pool.sharedReplay = sharedReplay;
    // Warm every worker (an empty batch) so the first handshakes do not pay thread start and
    // credential acquisition. That is not a GSSAPI call that may hang, and a loaded machine can
    // take more than a short task timeout to start a thread: give it its own bound.
    const warmUpMs = Math.max(opts.taskTimeoutMs, WARM_UP_TIMEOUT_MS);
    await Promise.all(Array.from({ length: opts.workers }, () => threads.run('batch', [], warmUpMs)));
    return pool;
  }

  /**
   * Runs one accept leg for the connection. Rejects with AcceptError, ContextError or PoolError.
   * A completed leg carries the local name and the kept delegated credential when the
   * credentials ask for them (src/pool/identityFields.ts).
   * With `releaseAfter`, the worker frees the context as soon as the leg returns (whatever its
   * outcome): for callers that never continue or protect with it, such as HTTP.
   * `abandoned` is asked when the leg returns: if the connection went away meanwhile, the
   * context is freed here. A release at close time finds nothing while the first leg still
   * waits for a worker, and that leg then creates the context: without this it would leak.
   * `channelBindings` is the TLS channel's binding application data (`tlsServerEndPoint(cert)`,
   * src/tls/channelBindings.ts), applied as `channelBinding` says (default `when-supported`):
   * a client bound to another certificate fails with ERR_CHANNEL_BINDING_MISMATCH; under
   * `required` one that sent no bindings fails with ERR_CHANNEL_BINDING_REQUIRED (also when
   * no `channelBindings` are given: there is no channel to bind). The step's `flags.channelBound`
   * says whether the client's bindings matched.
   */
  async accept(connectionId: number, token: Uint8Array, options: AcceptOptions = {}): Promise<AcceptStep> {
    const call = acceptCall(connectionId, token, options, this.slots);
    let r: BatchResult;
    let abandoned: boolean;
    try {
      r = await this.submit(call);
    } finally {
      abandoned = options.abandoned?.() === true;
      if (abandoned) this.release(connectionId);
    }
    if (r.op !== 'accept') mismatchedResult('accept', r.op);
    const step = acceptStep(r);
    if (!r.ok || r.status !== 'complete' || step.status !== 'complete') return step;
    // On Redis: a replayed (or unchecked) authenticator keeps nothing, and its AP-REP is not sent.
    const refused = await this.sharedReplay?.check(r);
    const fields = await identityFields(r, {
      connectionId,
      localNames: this.credentials.localNames,
      delegations: this.delegatedCredentials,
      // A closed pool keeps nothing; its store removes what it kept.
      abandoned: abandoned || this.closed || refused !== undefined,
      logger: this.logger,
    });
    if (refused === undefined) return { ...step, ...fields };
    this.release(connectionId);
    throw refused;
  }

  /**
   * Runs a message-protection call on an established context; resolves with that op's result
   * (`protect({ op: 'wrap', ... })` with `{ token, confidential }`), rejects with its failure.
   */
  async protect<T extends ProtectRequest>(task: T): Promise<ProtectSuccess<T['op']>> {
    const op: T['op'] = task.op;
    const call: ProtectRequest = task;
    const r = await this.submit({ ...call, data: ownBytes(call.data) });
    if (!r.ok) throw failureToError(r);
    return protectSuccess[op](r);
  }

  /**
   * Frees the connection's context: out of the table at once, on this thread, so a release is
   * never shed by a full queue; the GSS deletion itself is left to a worker's next batch (or
   * the sweep). A context a worker holds is freed when it returns.
   */
  release(connectionId: number): boolean {
    // The connection's hold on a delegated credential ends with it (removed once nobody holds it).
    if (this.delegatedCredentials !== undefined) void this.delegatedCredentials.releaseHolder(connectionId);
    return this.addon.release(connectionId);
  }

  /** Counters of the process-wide context table. */
  stats(): NativeContextStats & { queued: number; utilization: number } {
    return {
      ...this.addon.stats(),
      queued: this.calls.queued,
      utilization: this.calls.utilization,
    };
  }

  /**
   * Reads the keytab file again and switches every worker to the new keys (each on its next
   * task); contexts already established are untouched. The new keytab gets the same checks
   * as at start (readable, not empty, holds the pinned principal, a credential can be
   * acquired); if it fails them this rejects and the keys in use stay in use.
   */
  reloadKeytab(): Promise<KeytabLoad> {
    return this.credentials.reloadKeytab();
  }

  /** The generation of the keytab snapshot in use (1 after start, +1 per successful reload); 0 without snapshots. */
  keytabGeneration(): number {
    return this.credentials.keytabGeneration();
  }

  /** Counters of the in-memory replay cache (`enabled: false` with the other replay caches). */
  replayStats(): NativeReplayStats {
    return this.addon.replayStats();
  }

  /** Frees handshakes idle past the TTL now (the pool also does this periodically). */
  sweep(): number {
    return this.addon.sweep();
  }

  /** Stops the workers (waiting for running tasks) and frees every context. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweepTimer);
    await this.calls.close(new PoolError('ERR_POOL_CLOSED', 'the worker pool is closed'));
    await this.threads.close();
    this.addon.releaseAll();
    await this.delegatedCredentials?.close();
    await this.sharedReplay?.close();
  }

  /**
   * Fault injection for tests (needs a diagnostics `workerFile`): occupies one worker thread for
   * `ms` (at most 10 s), as a slow GSSAPI call would; resolves with its thread id.
   */
  stallWorker(ms: number): Promise<number> {
    return this.calls.stall(ms);
  }

  /**
   * Fault injection for tests (needs a diagnostics `workerFile`): occupies the worker thread
   * `threadId` until `release()` is called (at most 10 s), so the next tasks run on the others;
   * shows that a context's legs move between threads.
   */
  stallWorkerWhile(threadId: number): Promise<{ release: () => void; done: Promise<void> }> {
    return this.calls.stallWhile(threadId);
  }

  /**
   * Fault injection for tests (needs a diagnostics `workerFile`): terminates the worker thread
   * `threadId` as a crash would (see WorkerThreads.terminate). Resolves false when no worker of
   * this pool has that id.
   */
  terminateWorker(threadId: number): Promise<boolean> {
    return this.threads.terminate(threadId);
  }

  private submit(call: BatchCall): Promise<BatchResult> {
    if (this.closed) return Promise.reject(new PoolError('ERR_POOL_CLOSED', 'the worker pool is closed'));
    return this.calls.submit(call);
  }
}
