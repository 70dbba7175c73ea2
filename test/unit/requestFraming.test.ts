/** framingDefect: which header blocks the HTTP front end refuses as ambiguously framed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { framingDefect } from '../../src/http/requestFraming.js';

test('unambiguous framing passes', () => {
  assert.equal(framingDefect([]), undefined);
  assert.equal(framingDefect([['host', 'a'], ['content-length', '0']]), undefined);
  assert.equal(framingDefect([['content-length', ' 12 ']]), undefined, 'optional whitespace is not part of the value');
  assert.equal(framingDefect([['transfer-encoding', 'chunked']]), undefined);
  assert.equal(framingDefect([['transfer-encoding', 'Chunked']]), undefined, 'codings are case-insensitive');
});

test('ambiguous framing is named', () => {
  assert.equal(framingDefect([['content-length', '5'], ['content-length', '45']]), 'duplicate Content-Length');
  assert.equal(framingDefect([['content-length', '0'], ['content-length', '0']]), 'duplicate Content-Length');
  for (const v of ['5, 45', '+5', '-1', '0x10', '', '1234567890123456']) {
    assert.equal(framingDefect([['content-length', v]]), 'invalid Content-Length', JSON.stringify(v));
  }
  for (const v of ['chunked, identity', 'identity', 'gzip, chunked', 'chunked;x=1', '']) {
    assert.equal(framingDefect([['transfer-encoding', v]]), 'Transfer-Encoding other than chunked', JSON.stringify(v));
  }
  assert.equal(framingDefect([['transfer-encoding', 'chunked'], ['transfer-encoding', 'chunked']]), 'Transfer-Encoding other than chunked');
  assert.equal(framingDefect([['content-length', '5'], ['transfer-encoding', 'chunked']]), 'both Content-Length and Transfer-Encoding');
  assert.equal(framingDefect([['transfer-encoding', 'chunked'], ['content-length', '5']]), 'both Content-Length and Transfer-Encoding');
});
