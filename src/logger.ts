/**
 * The structured logger: pino, one JSON object per line (stderr by default). Fields are the
 * caller's; callers never pass tokens, keys or passwords (only lengths and error codes), and
 * pino's redaction censors the field names that could hold one anyway, as a second line of
 * defence against a future careless call.
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** The logger the front ends call: message first, then the line's fields. */
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

/**
 * A logger with pino's argument order, fields first: what `NegotiateServer.start({ logger })`
 * takes, so a service passes its own pino instance (bunyan's order is the same). Redaction is
 * then that logger's own configuration; the server never passes a secret either way.
 */
export interface PinoCompatibleLogger {
  debug(fields: Record<string, unknown>, msg: string): void;
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
}

/** The one adapter between the two argument orders (methods called on `target`, as pino needs). */
export function fromPinoCompatible(target: PinoCompatibleLogger): Logger {
  return {
    debug: (msg, fields) => target.debug(fields ?? {}, msg),
    info: (msg, fields) => target.info(fields ?? {}, msg),
    warn: (msg, fields) => target.warn(fields ?? {}, msg),
    error: (msg, fields) => target.error(fields ?? {}, msg),
  };
}

/**
 * Field names whose value is censored wherever they appear, at the top level or one object
 * down (e.g. `headers.authorization`). Names, not values: a secret under another name is not
 * caught, which is why callers must still never pass one.
 */
export const REDACTED_FIELDS: readonly string[] = [
  'token',
  'tokens',
  'authorization',
  'Authorization',
  'password',
  'passwd',
  'secret',
  'key',
  'keys',
  'cookie',
  'Cookie',
  'setCookie',
  'set-cookie',
  'Set-Cookie',
];

/** What a redacted value is replaced with. */
export const REDACTED = '[redacted]';

const REDACTED_NAMES: ReadonlySet<string> = new Set(REDACTED_FIELDS);

/** `value` with its secret-named fields censored, or `value` itself when it has none. */
function censorLevel(value: Record<string, unknown>, nested: boolean): Record<string, unknown> {
  let out = value;
  for (const name in value) {
    const field = value[name];
    let censored: unknown = field;
    if (REDACTED_NAMES.has(name)) censored = REDACTED;
    else if (nested && typeof field === 'object' && field !== null && !Array.isArray(field)) {
      censored = censorLevel(field as Record<string, unknown>, false);
    }
    if (censored === field) continue;
    if (out === value) out = { ...value };
    out[name] = censored;
  }
  return out;
}

/**
 * The redaction of every line: the {@link REDACTED_FIELDS} names at the top level and one object
 * down, copying only a line that has one (the caller's object is never modified). What pino's
 * `redact` option did with the paths `name` and `*.name`, without its cost: fast-redact's
 * wildcard paths cost ~30 µs per line, more than the rest of the line's formatting.
 */
export function redactSecretFields(fields: Record<string, unknown>): Record<string, unknown> {
  return censorLevel(fields, true);
}

/**
 * pino's `isoTime` (`,"time":"<ISO 8601>"`), formatted once per millisecond: a busy server logs
 * several lines per millisecond, and `toISOString` costs ~1 µs a line.
 */
function isoTimeOncePerMillisecond(): () => string {
  let lastMs = NaN;
  let last = '';
  return () => {
    const now = Date.now();
    if (now !== lastMs) {
      lastMs = now;
      last = `,"time":"${new Date(now).toISOString()}"`;
    }
    return last;
  };
}

/**
 * A pino instance writing JSON lines to `stream` (stderr by default) at `level` and above:
 * `{"level":"info","time":"<ISO 8601>",...fields,"msg":"..."}`, with the redaction above. The
 * CLI's logger; pass it (or your own pino) as NegotiateServer's `logger`.
 */
export function createPinoLogger(
  level: LogLevel = 'info',
  stream: NodeJS.WritableStream | DestinationStream = process.stderr,
): PinoLogger {
  return pino(
    {
      level,
      // The line format the CLI has always printed: level names, ISO time, no pid/hostname.
      base: null,
      timestamp: isoTimeOncePerMillisecond(),
      formatters: { level: (label) => ({ level: label }), log: redactSecretFields },
    },
    // Written in the caller's stream directly (no worker-thread transport). process.stderr (the
    // default) is synchronous on a pipe or file: nothing is lost at exit, at the price of one
    // write(2) per line. The CLI passes the buffered destination of logDestination.ts instead.
    stream,
  );
}

/** {@link createPinoLogger} seen as a {@link Logger}, for the front ends used on their own. */
export function createLogger(level: LogLevel = 'info', stream: NodeJS.WritableStream = process.stderr): Logger {
  return fromPinoCompatible(createPinoLogger(level, stream));
}

/** A logger that drops everything (library default). */
export const silentLogger: Logger = createLogger('silent');
