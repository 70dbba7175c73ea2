/** resolveServerOptions: the library's defaults, its listener rule and its refusals; the logger adapter. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import { resolveServerOptions, type NegotiateServerOptions } from '../../src/options.js';
import { DEFAULT_LIMITS, DEFAULT_REPLAY_CACHE_SIZE } from '../../src/config.js';
import { DEFAULT_GREETING } from '../../src/acceptors/sspiProtocol.js';
import { ConfigError } from '../../src/errors.js';
import { fromPinoCompatible, type PinoCompatibleLogger } from '../../src/logger.js';

function refused(options: unknown, message: RegExp): void {
  // JSON.parse: options a JavaScript caller could pass, which the types would refuse.
  const parsed: unknown = JSON.parse(JSON.stringify(options));
  assert.throws(
    () => resolveServerOptions(parsed as NegotiateServerOptions),
    (err: unknown) => err instanceof ConfigError && err.code === 'ERR_CONFIG' && message.test(err.message),
    `refused with ERR_CONFIG matching ${message}`,
  );
}

test('only the listeners named start, each at its default address; every other default filled', () => {
  const c = resolveServerOptions({ http: {} });
  assert.deepEqual(c.http, { host: '127.0.0.1', port: 8080 });
  assert.equal(c.sspi, undefined);
  assert.equal(c.gssSample, undefined);
  assert.equal(c.gssSampleAllowUnauthenticated, false);
  assert.equal(c.maxHandshakesPerAddress, undefined, 'a tenth of maxContexts, by the server');
  assert.equal(c.maxConnectionsFromUser, false, 'the default cap may be lowered to fit the descriptor limit');
  assert.equal(c.admin, undefined);
  assert.equal(c.wsPath, undefined, 'no WebSocket route unless http.ws is given');
  assert.equal(c.sessionCookieTtlSeconds, undefined, 'no cookie unless http.sessionCookie is given');
  assert.deepEqual(c.sessionCookieKeys, []);
  assert.equal(c.sessionCookieSecure, false);
  assert.equal(c.allowUwsFallback, false);
  assert.equal(c.keytab, undefined);
  assert.equal(c.principal, undefined);
  assert.equal(c.ntlm, false);
  assert.equal(c.ntlmUsers, undefined);
  assert.equal(c.replayCache, 'default');
  assert.equal(c.replayCacheSize, DEFAULT_REPLAY_CACHE_SIZE);
  assert.equal(c.replayCachePrincipalQuota, undefined, 'a quarter of the size, by the cache');
  assert.deepEqual(c.requireFlags, []);
  assert.equal(c.workers, os.availableParallelism());
  for (const [k, v] of Object.entries(DEFAULT_LIMITS)) assert.equal(c[k as keyof typeof DEFAULT_LIMITS], v, k);
  assert.equal(c.greeting, DEFAULT_GREETING);
  assert.equal(c.shutdownGraceMs, 5000);
  assert.equal(c.httpTls, undefined, 'plain HTTP unless http.tls is given');
  assert.equal(c.channelBinding, 'when-supported');
});

test('http.tls: both files; Secure cookies by default (unless the caller says otherwise); channel binding', () => {
  const tls = { certFile: '/c.pem', keyFile: '/k.pem' };
  const c = resolveServerOptions({ http: { tls, sessionCookie: {} } });
  assert.deepEqual(c.httpTls, tls);
  assert.equal(c.sessionCookieSecure, true, 'TLS implies Secure');
  assert.equal(c.channelBinding, 'when-supported');
  assert.equal(resolveServerOptions({ http: { tls, sessionCookie: { secure: false } } }).sessionCookieSecure, false);
  assert.equal(resolveServerOptions({ http: { tls, channelBinding: 'required' } }).channelBinding, 'required');
  assert.equal(resolveServerOptions({ http: { channelBinding: 'off' } }).channelBinding, 'off');
  refused({ http: { tls: { certFile: '/c.pem' } } }, /http\.tls needs both certFile and keyFile/);
  refused({ http: { tls: { certFile: '/c.pem', keyFile: '/k.pem', ca: '/x' } } }, /unknown option http\.tls\.ca/);
  refused({ http: { channelBinding: 'sometimes' } }, /http\.channelBinding must be off, when-supported, required/);
  refused({ http: { channelBinding: 'required' } }, /channel binding required needs TLS on the HTTP listener/);
});

test('nested sections fill their own defaults', () => {
  const c = resolveServerOptions({
    tcp: { sspi: { port: 0 }, gssSample: { host: '::1', allowUnauthenticated: true } },
    http: { host: '0.0.0.0', ws: {}, sessionCookie: { secure: true } },
    admin: { port: 9100 },
    limits: { maxQueue: 7, maxHandshakesPerAddress: 3 },
    credentials: { replayCache: 'memory', requireFlags: ['mutual', 'mutual', 'replay'] },
  });
  assert.deepEqual(c.sspi, { host: '127.0.0.1', port: 0 });
  assert.deepEqual(c.gssSample, { host: '::1', port: 4444 });
  assert.deepEqual(c.http, { host: '0.0.0.0', port: 8080 });
  assert.equal(c.wsPath, '/ws');
  assert.equal(c.sessionCookieTtlSeconds, 3600);
  assert.equal(c.sessionCookieSecure, true);
  assert.deepEqual(c.admin, { host: '127.0.0.1', port: 9100 });
  assert.equal(c.maxQueue, 7);
  assert.equal(c.maxHandshakesPerAddress, 3);
  assert.equal(
    resolveServerOptions({ http: {}, limits: { maxConnections: 50 } }).maxConnectionsFromUser,
    true,
    'a cap given refuses to start when it does not fit',
  );
  assert.equal(c.gssSampleAllowUnauthenticated, true);
  assert.equal(c.maxTokenBytes, DEFAULT_LIMITS.maxTokenBytes);
  assert.equal(c.replayCache, 'memory');
  assert.deepEqual(c.requireFlags, ['mutual', 'replay']);
});

test('at least one front-end listener is required (admin is not one)', () => {
  refused({}, /no listener/);
  refused({ admin: { port: 9100 }, credentials: { keytab: '/k' } }, /no listener/);
});

test('bad values are refused with ERR_CONFIG naming the option', () => {
  refused(
    { http: {}, limits: { maxTokenBytes: 5 } },
    /^limits\.maxTokenBytes must be a whole number between 16 and 16777216, not 5$/,
  );
  refused({ http: { port: 70000 } }, /^http\.port must be/);
  refused({ http: { port: 1.5 } }, /^http\.port must be/);
  refused({ tcp: { sspi: { host: '' } } }, /^tcp\.sspi\.host must be a non-empty string/);
  refused({ http: {}, workers: 0 }, /^workers must be a whole number between 1 and 256/);
  refused({ http: {}, shutdownGraceMs: -1 }, /^shutdownGraceMs/);
  refused(
    { http: {}, credentials: { replayCache: 'bogus' } },
    /^credentials\.replayCache must be default, memory, none, file:PATH or redis:\/\/HOST:PORT, not "bogus"$/,
  );
  refused(
    { http: {}, credentials: { requireFlags: ['mutual', 'bogus'] } },
    /^credentials\.requireFlags: unknown flag "bogus"/,
  );
  refused({ http: {}, credentials: { ntlm: 'yes' } }, /^credentials\.ntlm must be true or false/);
  refused({ http: { ws: { path: 'ws' } } }, /^http\.ws\.path must be an absolute path/);
  refused({ http: { sessionCookie: { ttlSeconds: 31 * 86400 } } }, /^http\.sessionCookie\.ttlSeconds must be/);
  refused({ http: {}, admin: {} }, /^admin\.port is required$/);
  assert.throws(
    () => resolveServerOptions({ http: { sessionCookie: { keys: [Buffer.alloc(16)] } } }),
    (err: unknown) =>
      err instanceof ConfigError && /^http\.sessionCookie\.keys must be Buffers of at least 32/.test(err.message),
  );
  refused(
    { http: {}, credentials: { frontendPrincipals: { ws: 'HTTP/h@R' } } },
    /^unknown option credentials\.frontendPrincipals\.ws/,
  );
  refused({ http: {}, logger: {} }, /^logger must have pino's debug, info, warn and error methods/);
});

test('unknown and old-style (flat) options are refused, not ignored', () => {
  refused(
    { keytab: '/k', sspi: { host: '127.0.0.1', port: 0 } },
    /^unknown option keytab; expected one of credentials, tcp, http, limits, admin/,
  );
  refused({ http: {}, limits: { maxTokens: 5 } }, /^unknown option limits\.maxTokens/);
  refused({ http: { wsPath: '/ws' } }, /^unknown option http\.wsPath/);
  refused({ http: [] }, /^http must be an object/);
});

test("the logger adapter calls the target with pino's order (fields, msg) as a method", () => {
  const calls: Array<[string, Record<string, unknown>, string]> = [];
  class Target implements PinoCompatibleLogger {
    readonly name = 'target';
    #record(level: string, fields: Record<string, unknown>, msg: string): void {
      assert.equal(this.name, 'target', 'called on the target');
      calls.push([level, fields, msg]);
    }
    debug(fields: Record<string, unknown>, msg: string): void {
      this.#record('debug', fields, msg);
    }
    info(fields: Record<string, unknown>, msg: string): void {
      this.#record('info', fields, msg);
    }
    warn(fields: Record<string, unknown>, msg: string): void {
      this.#record('warn', fields, msg);
    }
    error(fields: Record<string, unknown>, msg: string): void {
      this.#record('error', fields, msg);
    }
  }
  const log = fromPinoCompatible(new Target());
  log.info('authenticated', { principal: 'alice@KRBTEST.COM' });
  log.warn('busy');
  log.debug('leg', { n: 1 });
  log.error('failed', { code: 'X' });
  assert.deepEqual(calls, [
    ['info', { principal: 'alice@KRBTEST.COM' }, 'authenticated'],
    ['warn', {}, 'busy'],
    ['debug', { n: 1 }, 'leg'],
    ['error', { code: 'X' }, 'failed'],
  ]);
});
