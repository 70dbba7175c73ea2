/**
 * Loads uWebSockets.js (the npm build `@trufflesuite/uws-js-unofficial`, whose binaries load
 * on Node 20). That package silently falls back to a slow pure-JS emulation when its binary
 * fails to load (or when UWS_USE_FALLBACK is set), and says so with console.log on stdout;
 * an authentication server built for throughput must not run on it unnoticed, and stdout
 * carries our JSON events. So: detect the fallback, refuse it unless explicitly allowed, and
 * keep its banner off stdout.
 */
import { createRequire } from 'node:module';
import type * as Uws from '@trufflesuite/uws-js-unofficial';
import { ConfigError } from '../errors.js';
import type { Logger } from '../logger.js';
import { applyProcessWideSettings } from '../processSettings.js';

export type UwsModule = typeof Uws;

/**
 * Header block size asked of uWS through UWS_HTTP_MAX_HEADERS_SIZE: room for a 48,000-byte
 * token in base64 (64,000 characters) plus ordinary headers. Upstream uWS reads that variable;
 * this npm build (20.30.0-unofficial.0) does not (checked: the string is not in its binary).
 * It parses a header block that arrives in one read whatever its size (up to ~100 KB seen), but
 * copies a block spanning several reads into a fixed 4 KiB buffer and drops the connection,
 * without a response, when it overflows. Large tokens over a real network may therefore fail
 * on segmentation; docs/troubleshooting.md says what to do.
 */
export const HTTP_MAX_HEADERS_SIZE = 72 * 1024;

let loaded: { uws: UwsModule; native: boolean } | undefined;

/** True when the loaded App is the native binding rather than the JS emulation. */
function isNative(uws: UwsModule): boolean {
  return typeof uws.App === 'function' && Function.prototype.toString.call(uws.App).includes('[native code]');
}

export interface LoadUwsOptions {
  /** Run on the JS fallback (with a warning) instead of refusing to start. */
  allowFallback?: boolean;
  logger?: Logger;
}

/** Loads uWS once per process; throws ERR_UWS_FALLBACK when only the emulation is available. */
export function loadUws(options: LoadUwsOptions = {}): UwsModule {
  if (!loaded) {
    // Read by upstream uWS when it loads (not by this build, see above).
    applyProcessWideSettings({ uwsMaxHeadersSize: HTTP_MAX_HEADERS_SIZE });
    const require = createRequire(import.meta.url);
    const log = console.log;
    console.log = (...args: unknown[]) => process.stderr.write(args.map(String).join(' ') + '\n');
    try {
      const uws = require('@trufflesuite/uws-js-unofficial') as UwsModule;
      loaded = { uws, native: isNative(uws) };
    } finally {
      console.log = log;
    }
  }
  if (!loaded.native) {
    const why =
      process.env['UWS_USE_FALLBACK'] !== undefined
        ? 'UWS_USE_FALLBACK is set'
        : `no uWebSockets.js binary loads for ${process.platform}-${process.arch} with ABI ${process.versions.modules}`;
    if (!options.allowFallback) {
      throw new ConfigError(
        'ERR_UWS_FALLBACK',
        `uWebSockets.js would run on its slow JavaScript emulation (${why}); ` +
          'refusing to start. Unset UWS_USE_FALLBACK or use a Node version the package ships binaries for, ' +
          'or pass --allow-uws-fallback to run slowly anyway',
      );
    }
    options.logger?.warn('uWebSockets.js runs on its JavaScript emulation: expect a fraction of the native throughput', { reason: why });
  }
  return loaded.uws;
}
