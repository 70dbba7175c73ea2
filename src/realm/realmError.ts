/** The one error every realm unit throws: a `ConfigError` with code `ERR_REALM`. */
import { ConfigError } from '../errors.js';

/** Lines of a tool's output or of kdc.log quoted in an error: enough to show the cause. */
const kTailLines = 20;

export function realmError(message: string, cause?: unknown): ConfigError {
  return cause === undefined ? new ConfigError('ERR_REALM', message) : new ConfigError('ERR_REALM', message, { cause });
}

/** The last lines of `text`, or `(empty)`, for quoting a tool's output in an error. */
export function tailLines(text: string): string {
  const lines = text.trimEnd().split('\n');
  const tail = lines.slice(-kTailLines).join('\n');
  return tail.length > 0 ? tail : '(empty)';
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
