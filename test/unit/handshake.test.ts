/**
 * The handshake core (src/handshake/): how errors are classified, what the reporter logs at
 * which level and emits, and how each front end maps a class to its own answer.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { ConfigError, ContextError, FramingError, GssError, PoolError } from '../../src/errors.js';
import { classify, HandshakeReporter, identityFromStep, type HandshakeFailure } from '../../src/handshake/index.js';
import { closeFor, WS_CLOSE } from '../../src/acceptors/wsClose.js';
import type { Logger } from '../../src/logger.js';

type Line = { level: 'debug' | 'info' | 'warn' | 'error'; msg: string; fields: Record<string, unknown> };

function recorder(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const at =
    (level: Line['level']) =>
    (msg: string, fields: Record<string, unknown> = {}) =>
      void lines.push({ level, msg, fields });
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

const gss = new GssError('ERR_GSS_DEFECTIVE_TOKEN', 'accept: invalid token', 589824, 0);

test('classify: overload is busy, GSS and context refusals are refused, framing is protocol, the rest internal', () => {
  assert.equal(classify(new PoolError('ERR_POOL_QUEUE_FULL', 'full')), 'busy');
  assert.equal(classify(new PoolError('ERR_POOL_CLOSED', 'closed')), 'busy');
  assert.equal(classify(new ContextError('ERR_CONTEXT_TABLE_FULL', 'full')), 'busy');
  assert.equal(classify(gss), 'refused');
  assert.equal(classify(new GssError('ERR_REPLAY_CACHE_FULL', 'full', 851968, 0)), 'refused');
  assert.equal(classify(new ContextError('ERR_CONTEXT_NOT_FOUND', 'gone')), 'refused');
  assert.equal(classify(new FramingError('ERR_FRAME_TOO_LARGE', 'big')), 'protocol');
  assert.equal(classify(new ConfigError('ERR_NO_CREDENTIALS', 'none')), 'protocol');
  assert.equal(classify(new Error('boom')), 'internal');
  assert.equal(classify('boom'), 'internal');
});

test('the reporter logs busy failures at warn, the rest at info, with GSS status, and emits the same failure', () => {
  const { logger, lines } = recorder();
  const events = new EventEmitter();
  const emitted: HandshakeFailure[] = [];
  events.on('handshakeFailed', (f: HandshakeFailure) => emitted.push(f));
  const reporter = new HandshakeReporter('ws', events, logger);
  const attempt = { connectionId: 7, remoteAddress: '127.0.0.1', latencyMs: 3 };

  reporter.failed(attempt, new PoolError('ERR_POOL_QUEUE_FULL', 'queue full'));
  reporter.failed(attempt, new ContextError('ERR_CONTEXT_TABLE_FULL', 'table full'));
  reporter.failed(attempt, gss);
  reporter.failed(attempt, new Error('boom'));
  reporter.refused(attempt, 'ERR_HTTP_BAD_AUTHORIZATION', 'no token');

  assert.deepEqual(
    lines.map((l) => [l.msg, l.level, l.fields['code']]),
    [
      ['handshake failed', 'warn', 'ERR_POOL_QUEUE_FULL'],
      ['handshake failed', 'warn', 'ERR_CONTEXT_TABLE_FULL'],
      ['handshake failed', 'info', 'ERR_GSS_DEFECTIVE_TOKEN'],
      ['handshake failed', 'info', 'ERR_PROTOCOL'],
      ['handshake failed', 'info', 'ERR_HTTP_BAD_AUTHORIZATION'],
    ],
  );
  assert.deepEqual(lines[2]?.fields, {
    connectionId: 7,
    frontend: 'ws',
    code: 'ERR_GSS_DEFECTIVE_TOKEN',
    message: 'accept: invalid token',
    remoteAddress: '127.0.0.1',
    latencyMs: 3,
    major: 589824,
    minor: 0,
  });
  assert.equal(lines[3]?.fields['message'], 'boom');
  assert.equal(emitted.length, 5);
  assert.deepEqual(emitted[2], {
    connectionId: 7,
    frontend: 'ws',
    code: 'ERR_GSS_DEFECTIVE_TOKEN',
    message: 'accept: invalid token',
    remoteAddress: '127.0.0.1',
    latencyMs: 3,
  });

  reporter.endedWithError(attempt, new FramingError('ERR_FRAME_TRUNCATED', 'closed'));
  assert.equal(emitted.length, 5, 'no event after the handshake');
  assert.deepEqual(
    [lines[5]?.msg, lines[5]?.level, lines[5]?.fields['code']],
    ['connection ended with an error', 'info', 'ERR_FRAME_TRUNCATED'],
  );
});

test('the reporter logs one authenticated line and emits the identity it was given', () => {
  const { logger, lines } = recorder();
  const events = new EventEmitter();
  let seen: unknown;
  events.on('session', (s: unknown) => (seen = s));
  const identity = {
    principal: 'alice@KRBTEST.COM',
    mech: 'krb5' as const,
    spnego: true,
    flags: { mutual: true, channelBound: false },
    expiresAt: null,
    extra: 1,
  };
  new HandshakeReporter('http', events, logger).succeeded(
    { connectionId: 9, remoteAddress: undefined, latencyMs: 1 },
    identity,
  );
  assert.equal(seen, identity);
  assert.deepEqual(lines, [
    {
      level: 'info',
      msg: 'authenticated',
      fields: {
        connectionId: 9,
        frontend: 'http',
        remoteAddress: undefined,
        principal: 'alice@KRBTEST.COM',
        mech: 'krb5',
        spnego: true,
        latencyMs: 1,
      },
    },
  ]);
});

test('identityFromStep copies the identity fields and nothing else of the step', () => {
  const flags = {
    delegation: false,
    mutual: true,
    replay: true,
    sequence: true,
    confidentiality: true,
    integrity: true,
    anonymous: false,
    channelBound: false,
    bits: 62,
  };
  const step = {
    status: 'complete',
    output: Buffer.alloc(3),
    workerThreadId: 2,
    principal: 'bob@R',
    mech: 'ntlmssp' as const,
    spnego: false,
    flags,
    expiresAt: 5,
  };
  assert.deepEqual(identityFromStep(step), { principal: 'bob@R', mech: 'ntlmssp', spnego: false, flags, expiresAt: 5 });
});

test('WS close codes: busy 1013 (1001 when the pool closes), refused 1008, protocol by code, internal 1011', () => {
  assert.deepEqual(closeFor(new PoolError('ERR_POOL_TASK_TIMEOUT', 't')), {
    code: WS_CLOSE.TRY_AGAIN_LATER,
    reason: 'server busy',
  });
  assert.deepEqual(closeFor(new ContextError('ERR_CONTEXT_TABLE_FULL', 'f')), {
    code: WS_CLOSE.TRY_AGAIN_LATER,
    reason: 'server busy',
  });
  assert.deepEqual(closeFor(new PoolError('ERR_POOL_CLOSED', 'c')), {
    code: WS_CLOSE.GOING_AWAY,
    reason: 'server shutting down',
  });
  assert.deepEqual(closeFor(gss), { code: WS_CLOSE.POLICY_VIOLATION, reason: 'authentication failed' });
  assert.deepEqual(closeFor(new ContextError('ERR_CONTEXT_BUSY', 'b')), {
    code: WS_CLOSE.POLICY_VIOLATION,
    reason: 'authentication failed',
  });
  assert.deepEqual(closeFor(new FramingError('ERR_FRAME_TOO_LARGE', 'x')), {
    code: WS_CLOSE.MESSAGE_TOO_BIG,
    reason: 'message too big',
  });
  assert.deepEqual(closeFor(new FramingError('ERR_HANDSHAKE_TIMEOUT', 'x')), {
    code: WS_CLOSE.POLICY_VIOLATION,
    reason: 'handshake timeout',
  });
  assert.deepEqual(closeFor(new FramingError('ERR_FRAME_EMPTY', 'x')), {
    code: WS_CLOSE.PROTOCOL_ERROR,
    reason: 'empty token',
  });
  assert.deepEqual(closeFor(new FramingError('ERR_WS_PROTOCOL', 'x')), {
    code: WS_CLOSE.PROTOCOL_ERROR,
    reason: 'protocol error',
  });
  assert.deepEqual(closeFor(new FramingError('ERR_PROTOCOL', 'x')), {
    code: WS_CLOSE.INTERNAL_ERROR,
    reason: 'internal error',
  });
  assert.deepEqual(closeFor(new Error('boom')), { code: WS_CLOSE.INTERNAL_ERROR, reason: 'internal error' });
});
