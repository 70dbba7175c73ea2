/**
 * The request a pool call sends to a worker: an accept leg's options as an AcceptRequest, and
 * caller bytes in a buffer of their own so that crossing to a worker copies only them.
 */
import type { AcceptRequest } from '../../workers/messages.js';
import type { ChannelBindingPolicy } from '../tls/channelBindings.js';
import type { AcceptorSlot } from './credentials.js';

/** AuthPool.accept's options (see there). */
export interface AcceptOptions {
  releaseAfter?: boolean;
  sealOnComplete?: Uint8Array;
  abandoned?: () => boolean;
  slot?: AcceptorSlot | undefined;
  channelBindings?: Uint8Array | undefined;
  channelBinding?: ChannelBindingPolicy | undefined;
}

/**
 * The worker request for one accept leg. `slot` is kept only when the pool has a credential for
 * it (`slots`): every leg of a context comes from the same front end, so with the same one.
 */
export function acceptCall(
  connectionId: number,
  token: Uint8Array,
  options: AcceptOptions,
  slots: ReadonlySet<AcceptorSlot>,
): AcceptRequest {
  const call: AcceptRequest = { op: 'accept', id: connectionId, token: ownBytes(token) };
  if (options.slot !== undefined && slots.has(options.slot)) call.slot = options.slot;
  if (options.releaseAfter === true) call.releaseAfter = true;
  if (options.sealOnComplete !== undefined) call.sealOnComplete = ownBytes(options.sealOnComplete);
  const policy = options.channelBinding ?? 'when-supported';
  if (policy !== 'off' && (options.channelBindings !== undefined || policy === 'required')) {
    call.bindings = {
      ...(options.channelBindings === undefined ? {} : { applicationData: ownBytes(options.channelBindings) }),
      ...(policy === 'required' ? { required: true } : {}),
    };
  }
  return call;
}

/**
 * The bytes in an ArrayBuffer of their own. Posting a view to a worker clones its whole
 * backing ArrayBuffer: for a small Buffer that is Node's shared 8 KiB allocation pool (other
 * requests' bytes included), so a 1.3 KB token would cost an 8 KiB copy.
 */
export function ownBytes(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes);
}
