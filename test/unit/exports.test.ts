/** Pins the package's public surface: removing or renaming an export is a breaking change. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as api from '../../src/index.js';

test('the public API exports exactly these names', () => {
  assert.deepEqual(Object.keys(api).sort(), [
    'AcceptError',
    'AdminListener',
    'AuthPool',
    'BasicAuth',
    'CHANNEL_BINDING_POLICIES',
    'ConfigError',
    'ConstrainedDelegation',
    'ContextError',
    'CredentialsHandle',
    'DEFAULT_GREETING',
    'FailureLimiter',
    'FramingError',
    'GssError',
    'GssSampleFrameDecoder',
    'HandshakesPerAddress',
    'HttpAcceptor',
    'MULTI_LEG_REFUSAL',
    'NegotiateError',
    'NegotiateServer',
    'PasswordVerifier',
    'PoolError',
    'SecurityContextHandle',
    'ServerMetrics',
    'Session',
    'SessionCookies',
    'SspiFrameDecoder',
    'TcpAcceptor',
    'ThrowawayRealm',
    'TokenFlag',
    'WS_CLOSE',
    'WsAcceptor',
    'acceptSecurityContext',
    'acquireCredentialsHandle',
    'attachWebSocket',
    'classifyDataFlags',
    'createLogger',
    'createPinoLogger',
    'decodeSspiGreeting',
    'decryptMessage',
    'encodeGssSampleFrame',
    'encodeSspiFrame',
    'encodeSspiGreeting',
    'encryptMessage',
    'formatWwwAuthenticate',
    'gssSampleProtocol',
    'loadTlsCertificate',
    'loadTlsKeyPair',
    'loadUws',
    'makeSignature',
    'parseAuthorization',
    'sspiProtocol',
    'tlsServerEndPoint',
    'verifySignature',
  ]);
});

test('every error class carries its stable code and is a NegotiateError', () => {
  const e = new api.PoolError('ERR_POOL_QUEUE_FULL', 'full');
  assert.ok(e instanceof api.NegotiateError);
  assert.equal(e.code, 'ERR_POOL_QUEUE_FULL');
  assert.equal(e.name, 'PoolError');
  const g = new api.GssError('ERR_GSS_REPLAY', 'replay', 851968, 100005);
  assert.equal(g.major, 851968);
  assert.equal(g.minor, 100005);
  assert.equal(g.name, 'GssError');
});
