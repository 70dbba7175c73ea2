/**
 * The identity fields a completed accept adds beside the principal, computed on the main thread
 * from what the worker reported: the local name, and the delegated credential kept on disk; and
 * the log line of a PAC the worker left out.
 */
import { rm } from 'node:fs/promises';
import type { DelegatedCredentials } from '../delegation/DelegatedCredentials.js';
import type { Logger } from '../logger.js';
import type { DelegationKind, NativeAcceptResult } from '../native.js';
import type { LocalNames } from './localName.js';

type CompleteResult = Extract<NativeAcceptResult, { status: 'complete' }>;

export interface IdentityFields {
  localName?: string;
  delegatedCcache?: string;
  /** What `delegatedCcache` holds: the client's forwarded TGT, or an S4U2Proxy credential. */
  delegation?: DelegationKind;
}

/**
 * The fields of `r`, the completed leg of `connectionId`. A delegated credential the worker
 * wrote is handed to `delegations` (which names and keeps it), or removed when nobody will
 * hold it: the connection went away meanwhile (`abandoned`), or the pool keeps none.
 */
export async function identityFields(
  r: CompleteResult,
  ctx: {
    connectionId: number;
    localNames: LocalNames;
    delegations: DelegatedCredentials | undefined;
    abandoned: boolean;
    logger: Logger;
  },
): Promise<IdentityFields> {
  const out: IdentityFields = {};
  // The handshake stands without the PAC (the ticket itself was verified), but an operator
  // whose group rules see no groups must be able to find out why.
  if (r.pacRefused !== undefined)
    ctx.logger.warn('PAC not used', { connectionId: ctx.connectionId, principal: r.principal, reason: r.pacRefused });
  const localName = ctx.localNames.of(r);
  if (localName.name !== undefined) out.localName = localName.name;
  else if (ctx.localNames.mode !== 'off')
    ctx.logger.debug('no local name', {
      connectionId: ctx.connectionId,
      principal: r.principal,
      ...('reason' in localName && localName.reason !== undefined ? { reason: localName.reason } : {}),
    });
  if (r.delegationRefused !== undefined)
    ctx.logger.warn('delegated credential not kept', {
      connectionId: ctx.connectionId,
      principal: r.principal,
      reason: r.delegationRefused,
    });
  if (r.delegated !== undefined) {
    if (ctx.delegations === undefined || ctx.abandoned) {
      // Nobody will hold it. A file that cannot be removed here is removed by the store's close.
      await rm(r.delegated.path, { force: true }).catch((err: unknown) =>
        ctx.logger.warn('delegated credential not removed', { path: r.delegated?.path, reason: String(err) }),
      );
    } else {
      const kept = await ctx.delegations.adopt(r.delegated, r.principal, ctx.connectionId);
      if (kept !== undefined) {
        out.delegatedCcache = kept;
        out.delegation = r.delegated.kind;
      }
    }
  }
  return out;
}
