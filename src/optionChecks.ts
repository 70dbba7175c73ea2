/**
 * The checks every option of NegotiateServerOptions goes through (src/options.ts): known keys,
 * objects, whole numbers in range, booleans, non-empty strings. Each refuses with ERR_CONFIG
 * naming the option's path, so a wrong option says where it is.
 */
import type { IntRange } from './config.js';
import { ConfigError } from './errors.js';

export function checkKeys(path: string, value: object, known: Record<string, true>): void {
  for (const key of Object.keys(value)) {
    if (!Object.prototype.hasOwnProperty.call(known, key)) {
      throw new ConfigError(
        'ERR_CONFIG',
        `unknown option ${path === 'options' ? key : `${path}.${key}`}; expected one of ` +
          `${Object.keys(known).join(', ')}`,
      );
    }
  }
}

/** A nested options object (or {} when absent), checked to be an object with known keys. */
export function section<T extends object>(
  path: string,
  value: T | undefined,
  known: Record<keyof T, true>,
): T | Partial<T> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ConfigError('ERR_CONFIG', `${path} must be an object, not ${JSON.stringify(value)}`);
  }
  checkKeys(path, value, known);
  return value;
}

export function int(path: string, value: unknown, dflt: number, range: IntRange): number {
  if (value === undefined) return dflt;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < range.min || value > range.max) {
    throw new ConfigError(
      'ERR_CONFIG',
      `${path} must be a whole number between ${range.min} and ${range.max}, not ${JSON.stringify(value)}`,
    );
  }
  return value;
}

export function bool(path: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean')
    throw new ConfigError('ERR_CONFIG', `${path} must be true or false, not ${JSON.stringify(value)}`);
  return value;
}

export function optionalString(path: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '')
    throw new ConfigError('ERR_CONFIG', `${path} must be a non-empty string, not ${JSON.stringify(value)}`);
  return value;
}

/**
 * Array.isArray for a value whose declared type is already an array: it keeps that element type
 * where Array.isArray would narrow to `any[]`, and still refuses a JavaScript caller's non-array.
 */
export function isArray(value: unknown): value is readonly unknown[] {
  return Array.isArray(value);
}
