/**
 * Loads uWebSockets.js: the official uWS.js binaries as republished on npm by `uwebsockets`
 * 3.0.6 (its `source_commit` file names upstream commit b8704be9…; provenance and the binary's
 * sha256 in docs/http.md). Unlike the build we used before, it has no JavaScript emulation to
 * fall back to: when no binary loads for this platform and Node ABI, loading fails, and the
 * server refuses to start with ERR_UWS_UNAVAILABLE, whose message says why (uwsLoadFailure.ts)
 * and names `--http-engine node`; it never switches engines by itself.
 *
 * The header block limit is read from UWS_HTTP_MAX_HEADERS_SIZE once, when the module loads;
 * it is derived here from the largest token the server accepts, so an Active Directory token
 * arriving in many segments is parsed whole, and a larger block gets uWS's own 431.
 */
import { createRequire } from 'node:module';
import type * as Uws from 'uwebsockets';
import { ConfigError } from '../errors.js';
import type { Logger } from '../logger.js';
import { applyProcessWideSettings } from '../processSettings.js';
import { headerLimitFor } from '../http/headerLimit.js';
import { currentUwsPlatform, uwsLoadFailureMessage } from './uwsLoadFailure.js';

export type UwsModule = typeof Uws;

// The binary accepts listen(host, port, options, cb), which this package's typings omit.
declare module 'uwebsockets' {
  interface TemplatedApp {
    listen(
      host: RecognizedString,
      port: number,
      options: number,
      cb: (listenSocket: us_listen_socket | false) => void,
    ): TemplatedApp;
  }
}

/** LIBUS_LISTEN_EXCLUSIVE_PORT: no SO_REUSEPORT, so a taken port fails to bind instead of being shared. */
export const LISTEN_EXCLUSIVE_PORT = 1;

// Where the tests and older imports find them.
export { HEADER_ROOM_BYTES, headerLimitFor } from '../http/headerLimit.js';

let loaded: { uws: UwsModule; headerLimit: number } | undefined;

export interface LoadUwsOptions {
  /** The largest token the HTTP front end accepts; sets the header block limit (first load only). */
  maxTokenBytes?: number;
  /** Accepted for compatibility with --allow-uws-fallback; there is no emulation to allow any more. */
  allowFallback?: boolean;
  logger?: Logger;
}

/** Loads uWS once per process; throws ERR_UWS_UNAVAILABLE when no binary loads here. */
export function loadUws(options: LoadUwsOptions = {}): UwsModule {
  const wanted = headerLimitFor(options.maxTokenBytes ?? 65_536);
  if (!loaded) {
    const fromEnv = Number(process.env['UWS_HTTP_MAX_HEADERS_SIZE']);
    // An operator's own setting wins; ours is set before the module reads it.
    const headerLimit = Number.isInteger(fromEnv) && fromEnv > 0 ? fromEnv : wanted;
    applyProcessWideSettings({ uwsMaxHeadersSize: headerLimit });
    const require = createRequire(import.meta.url);
    try {
      loaded = { uws: require('uwebsockets') as UwsModule, headerLimit };
    } catch (err) {
      throw new ConfigError('ERR_UWS_UNAVAILABLE', uwsLoadFailureMessage(err, currentUwsPlatform()), { cause: err });
    }
  }
  if (loaded.headerLimit < wanted) {
    options.logger?.warn(
      'the HTTP header block limit is smaller than the largest token needs: larger requests get 431',
      {
        frontend: 'http',
        headerLimit: loaded.headerLimit,
        needed: wanted,
      },
    );
  }
  return loaded.uws;
}

/** The header block limit in force (after the first load). */
export function uwsHeaderLimit(): number | undefined {
  return loaded?.headerLimit;
}
