/**
 * The pool's error mapping (src/pool/failures.ts, src/errors.ts): addon failures and Piscina
 * rejections become typed errors with a declared code, whatever code string arrives.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { ContextError, NEGOTIATE_ERROR_CODES, errorCodeOf, isNegotiateErrorCode } from '../../src/errors.js';
import { AcceptError, failureToError, poolFailure } from '../../src/pool/failures.js';

// Compiled to dist/test/unit/: the repository root is three levels up.
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

test('errorCodeOf keeps a declared code and turns any other string into ERR_GSS_FAILURE', () => {
  assert.equal(errorCodeOf('ERR_GSS_REPLAY'), 'ERR_GSS_REPLAY');
  assert.equal(errorCodeOf('ERR_CONTEXT_BUSY'), 'ERR_CONTEXT_BUSY');
  assert.equal(errorCodeOf('ERR_SOMETHING_NEW'), 'ERR_GSS_FAILURE');
  assert.equal(errorCodeOf(''), 'ERR_GSS_FAILURE');
  assert.equal(isNegotiateErrorCode('err_gss_replay'), false);
  assert.equal(new Set(NEGOTIATE_ERROR_CODES).size, NEGOTIATE_ERROR_CODES.length, 'no code listed twice');
});

test('a context-table refusal becomes a ContextError, a GSS failure an AcceptError with status and token', () => {
  const busy = failureToError({ ok: false, code: 'ERR_CONTEXT_BUSY', major: 0, minor: 0, message: 'busy' });
  assert.ok(busy instanceof ContextError);
  assert.equal(busy.code, 'ERR_CONTEXT_BUSY');

  const replay = failureToError({ ok: false, code: 'ERR_GSS_REPLAY', major: 851968, minor: 100005, message: 'accept: replay', output: new Uint8Array([1, 2]) });
  assert.ok(replay instanceof AcceptError);
  assert.equal(replay.code, 'ERR_GSS_REPLAY');
  assert.equal(replay.major, 851968);
  assert.equal(replay.minor, 100005);
  assert.deepEqual([...replay.output], [1, 2]);
});

test('a code the addon reports but this package does not declare arrives as ERR_GSS_FAILURE, message intact', () => {
  const e = failureToError({ ok: false, code: 'ERR_FROM_A_NEWER_ADDON', major: 851968, minor: 7, message: 'accept: something new' });
  assert.ok(e instanceof AcceptError);
  assert.equal(e.code, 'ERR_GSS_FAILURE');
  assert.equal(e.message, 'accept: something new');
});

test('every code string in the native sources is a declared code', async () => {
  const found = new Set<string>();
  const dirs = [path.join(ROOT, 'native', 'src')];
  for (let dir = dirs.pop(); dir !== undefined; dir = dirs.pop()) {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) dirs.push(file);
      else if (/\.(cc|h)$/.test(entry.name)) for (const m of (await readFile(file, 'utf8')).matchAll(/"(ERR_[A-Z0-9_]+)"/g)) found.add(m[1] ?? '');
    }
  }
  assert.ok(found.size > 10, `found the addon's codes (${found.size})`);
  assert.deepEqual([...found].filter((c) => !isNegotiateErrorCode(c)), []);
});

test('Piscina rejections map to the pool codes', () => {
  assert.equal(poolFailure(new Error('Task queue is at limit'), 5000).code, 'ERR_POOL_QUEUE_FULL');
  const aborted = new Error('The task has been aborted');
  aborted.name = 'AbortError';
  const timeout = poolFailure(aborted, 1234);
  assert.equal(timeout.code, 'ERR_POOL_TASK_TIMEOUT');
  assert.match(timeout.message, /1234 ms/);
  assert.equal(poolFailure(new Error('Terminating worker thread'), 5000).code, 'ERR_POOL_WORKER_DIED');
  assert.equal(poolFailure('something else', 5000).code, 'ERR_POOL_WORKER_DIED');
  assert.equal(poolFailure(new Error('boom'), 5000).cause instanceof Error, true);
});
