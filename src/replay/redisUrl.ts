/**
 * The `--replay-cache redis://[user:pass@]host:port[/db]` (or `rediss://`, TLS) value: how it is
 * recognised, checked and shown. A password in it is never logged or put in an error message:
 * every place that shows the URL shows redactRedisUrl's form.
 */
import { ConfigError } from '../errors.js';

export type RedisUrl = `redis://${string}` | `rediss://${string}`;

export function isRedisUrl(value: string): value is RedisUrl {
  return value.startsWith('redis://') || value.startsWith('rediss://');
}

/** The URL with its password (if any) replaced by `***`: the only form that is ever shown. */
export function redactRedisUrl(value: string): string {
  // Textual, not through URL: a URL that does not parse must be redacted too.
  return value.replace(/^(rediss?:\/\/[^:@/]*):[^@/]*@/, '$1:***@');
}

/** Throws ConfigError unless `value` names a host and, if any, a database number and nothing else. */
export function checkRedisUrl(value: RedisUrl): void {
  const shown = redactRedisUrl(value);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError('ERR_CONFIG', `--replay-cache ${shown}: not a URL (redis://[user:pass@]host:port[/db])`);
  }
  if (url.hostname === '')
    throw new ConfigError('ERR_CONFIG', `--replay-cache ${shown}: no host (redis://[user:pass@]host:port[/db])`);
  if (url.pathname !== '' && url.pathname !== '/' && !/^\/\d{1,5}$/.test(url.pathname))
    throw new ConfigError('ERR_CONFIG', `--replay-cache ${shown}: the path must be a database number, e.g. /0`);
  if (url.search !== '' || url.hash !== '')
    throw new ConfigError('ERR_CONFIG', `--replay-cache ${shown}: no query or fragment is understood`);
}
