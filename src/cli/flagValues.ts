/**
 * Parsers of `serve` flag values, each naming its flag in the error (ConfigError ERR_CONFIG:
 * exit 2). Ranges and patterns come from config.ts, which the option resolver checks too.
 */
import { readFileSync } from 'node:fs';
import {
  DEFAULT_HOST,
  RANGES,
  WS_PATH_PATTERN,
  isReplayCacheOption,
  type IntRange,
  type ListenAddress,
} from '../config.js';
import { ConfigError } from '../errors.js';
import type { LogLevel } from '../logger.js';
import { isRequiredFlag, REQUIRABLE_FLAGS, type ReplayCacheOption, type RequiredFlag } from '../pool/credentials.js';
import { redactRedisUrl } from '../replay/redisUrl.js';

/** A WebSocket path: absolute, no wildcards or query. */
export function parseWsPath(value: string): string {
  if (!WS_PATH_PATTERN.test(value)) {
    throw new ConfigError('ERR_CONFIG', `--ws expects an absolute path such as /ws, not ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Session-cookie keys from a file: one base64 key per line (at least 32 bytes each), the first
 * signs and every one verifies, so keys rotate by adding the new key on top.
 */
export function parseCookieKeys(file: string, text: string): Buffer[] {
  const keys = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l, i) => {
      const key = Buffer.from(l, 'base64');
      if (!/^[A-Za-z0-9+/]+={0,2}$/.test(l) || key.length < 32) {
        throw new ConfigError(
          'ERR_CONFIG',
          `${file} line ${i + 1}: a key must be base64 of at least 32 bytes (e.g. openssl rand -base64 32)`,
        );
      }
      return key;
    });
  if (keys.length === 0) throw new ConfigError('ERR_CONFIG', `${file} holds no key`);
  return keys;
}

/** `--cookie-key-file FILE`: read and parsed at start. */
export function readCookieKeyFile(file: string): Buffer[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      'ERR_CONFIG',
      `--cookie-key-file ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  return parseCookieKeys(file, text);
}

/** Parses `HOST:PORT`, `[V6]:PORT` or a bare `PORT` (loopback). */
export function parseListenAddress(flag: string, value: string): ListenAddress {
  let host = DEFAULT_HOST;
  let portText = value;
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(value);
  if (v6) {
    host = v6[1] as string;
    portText = v6[2] as string;
  } else if (value.includes(':')) {
    const i = value.lastIndexOf(':');
    host = value.slice(0, i);
    portText = value.slice(i + 1);
  }
  const port = Number(portText);
  if (!host || !/^\d+$/.test(portText) || port > RANGES.port.max) {
    throw new ConfigError(
      'ERR_CONFIG',
      `${flag} expects HOST:PORT with a port 0-65535 (0 picks a free port), not ${JSON.stringify(value)}`,
    );
  }
  return { host, port };
}

/** Parses a whole-number option within `range`, naming the flag in the error. */
export function parseWholeNumber(flag: string, value: string, range: IntRange): number {
  if (!/^\d+$/.test(value))
    throw new ConfigError('ERR_CONFIG', `${flag} expects a whole number, not ${JSON.stringify(value)}`);
  const n = Number(value);
  if (n < range.min || n > range.max)
    throw new ConfigError('ERR_CONFIG', `${flag} must be between ${range.min} and ${range.max}, not ${n}`);
  return n;
}

/** `--require-flags mutual,replay,...`: a comma-separated list of flag names, each once. */
export function parseRequireFlags(value: string): RequiredFlag[] {
  const names = value
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  const known = Object.keys(REQUIRABLE_FLAGS).join(', ');
  if (names.length === 0) throw new ConfigError('ERR_CONFIG', `--require-flags expects a list of ${known}`);
  const out: RequiredFlag[] = [];
  for (const n of names) {
    if (!isRequiredFlag(n))
      throw new ConfigError('ERR_CONFIG', `--require-flags: unknown flag ${JSON.stringify(n)}; expected ${known}`);
    if (!out.includes(n)) out.push(n);
  }
  return out;
}

export function parseReplayCache(value: string): ReplayCacheOption {
  if (isReplayCacheOption(value)) return value;
  throw new ConfigError(
    'ERR_CONFIG',
    `--replay-cache expects default, memory, none, file:PATH or redis://HOST:PORT, not ${JSON.stringify(redactRedisUrl(value))}`,
  );
}

const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

export function parseLogLevel(value: string): LogLevel {
  const level = LOG_LEVELS.find((l) => l === value);
  if (level !== undefined) return level;
  throw new ConfigError(
    'ERR_CONFIG',
    `--log-level expects debug, info, warn, error or silent, not ${JSON.stringify(value)}`,
  );
}
