/**
 * The application's authorize hook: what it is given, what it may answer, and how an answer is
 * read. Awaited after the rules let a client in, before any application code sees it.
 */
import type { Frontend, ProvenIdentity } from '../handshake/identity.js';

/** What the hook is given: the proven identity (with `delegatedCcache`, if kept) and where it came from. */
export interface AuthorizeRequest extends ProvenIdentity {
  readonly frontend: Frontend;
  readonly remoteAddress: string | undefined;
}

/** Refuse with this HTTP status (400-599; WebSocket: close 4403 whatever it is) and reason (logged; the HTTP body). */
export interface AuthorizeRefusal {
  status: number;
  reason?: string;
}

/** Let in, adding fields the application sees as `identity.extra`. */
export interface AuthorizeExtra {
  extra: Record<string, unknown>;
}

/**
 * `true`: let in; `false`: refuse (HTTP 403); `{ status, reason }`: refuse with that status;
 * `{ extra }`: let in with `identity.extra`. Anything else, or a throw, is a hook failure (HTTP
 * 500, WebSocket 1011, TCP close), logged.
 */
export type AuthorizeResult = boolean | AuthorizeRefusal | AuthorizeExtra;

export type AuthorizeHook = (identity: AuthorizeRequest) => AuthorizeResult | Promise<AuthorizeResult>;

/** What a hook's answer means. */
export type HookVerdict =
  | { kind: 'allow'; extra?: Record<string, unknown> }
  | { kind: 'refuse'; status: number; reason: string }
  | { kind: 'invalid'; message: string };

const DEFAULT_REASON = 'refused by the application';

/** Reads `result`, the hook's resolved answer. */
export function readHookResult(result: unknown): HookVerdict {
  if (result === true) return { kind: 'allow' };
  if (result === false) return { kind: 'refuse', status: 403, reason: DEFAULT_REASON };
  if (typeof result !== 'object' || result === null || Array.isArray(result))
    return { kind: 'invalid', message: `the authorize hook returned ${describe(result)}` };
  if ('status' in result) {
    const { status } = result;
    const reason = 'reason' in result ? result.reason : undefined;
    if (typeof status !== 'number' || !Number.isInteger(status) || status < 400 || status > 599)
      return { kind: 'invalid', message: `the authorize hook refused with status ${describe(status)}, not 400-599` };
    if (reason !== undefined && typeof reason !== 'string')
      return { kind: 'invalid', message: 'the authorize hook refused with a reason that is not a string' };
    return { kind: 'refuse', status, reason: reason ?? DEFAULT_REASON };
  }
  if ('extra' in result) {
    const { extra } = result;
    if (typeof extra !== 'object' || extra === null || Array.isArray(extra))
      return { kind: 'invalid', message: 'the authorize hook returned extra that is not an object' };
    return { kind: 'allow', extra: { ...extra } };
  }
  return { kind: 'invalid', message: 'the authorize hook returned an object with neither status nor extra' };
}

function describe(value: unknown): string {
  return value === undefined ? 'undefined' : typeof value === 'function' ? 'a function' : JSON.stringify(value);
}
