/**
 * The pool's error mapping: a failure result from the addon, or a task Piscina refused or lost,
 * becomes one of the typed errors of src/errors.ts.
 */
import { ContextError, GssError, PoolError, errorCodeOf, isContextErrorCode, type NegotiateError } from '../errors.js';
import { asBuffer, type NativeFailure } from '../native.js';

/** Thrown by accept when the handshake failed; carries the error token to send, if any. */
export class AcceptError extends GssError {
  override readonly name: string = 'AcceptError';
  /** A GSSAPI error token for the peer (send it before closing), or an empty buffer. */
  readonly output: Buffer;

  constructor(failure: NativeFailure) {
    super(errorCodeOf(failure.code), failure.message, failure.major, failure.minor);
    this.output = failure.output ? asBuffer(failure.output) : Buffer.alloc(0);
  }
}

/** Builds the typed error for a failure result from the addon. */
export function failureToError(failure: NativeFailure): NegotiateError {
  if (isContextErrorCode(failure.code)) return new ContextError(failure.code, failure.message);
  return new AcceptError(failure);
}

/** Throws for a worker's answer that does not match its call (a bug, never a peer's doing). */
export function mismatchedResult(expected: string, got: string): never {
  throw new PoolError('ERR_POOL_WORKER_DIED', `worker answered a ${expected} call with a ${got} result`);
}

/** Maps Piscina's rejection of a task (queue full, aborted, thread gone) to a PoolError. */
export function poolFailure(err: unknown, timeoutMs: number): PoolError {
  const message = stringField(err, 'message') ?? String(err);
  const name = stringField(err, 'name');
  if (/queue is at limit/i.test(message)) {
    return new PoolError('ERR_POOL_QUEUE_FULL', 'the worker pool queue is full; the server is overloaded', {
      cause: err,
    });
  }
  if (name === 'AbortError' || /aborted/i.test(message)) {
    return new PoolError('ERR_POOL_TASK_TIMEOUT', `a GSSAPI task did not finish within ${timeoutMs} ms`, {
      cause: err,
    });
  }
  if (/terminated|closed/i.test(message)) {
    return new PoolError('ERR_POOL_WORKER_DIED', `a worker thread ended while running the task: ${message}`, {
      cause: err,
    });
  }
  return new PoolError('ERR_POOL_WORKER_DIED', `worker task failed: ${message}`, { cause: err });
}

function stringField(err: unknown, key: 'message' | 'name'): string | undefined {
  if (typeof err !== 'object' || err === null || !(key in err)) return undefined;
  const value: unknown = Reflect.get(err, key);
  return typeof value === 'string' ? value : undefined;
}
