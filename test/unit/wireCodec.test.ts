/** workers/wireCodec.ts: pool calls and results across the native hand-off queue. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeWire, encodeWire } from '../../workers/wireCodec.js';

test('plain values and nested byte arrays round-trip; bytes come back as views of the buffer', () => {
  const value = {
    op: 'accept',
    id: 42,
    token: new Uint8Array([1, 2, 3]),
    bindings: { applicationData: Buffer.from('cb'), required: true },
    list: [{ sid: 'S-1-5-21', attrs: 7 }],
    none: null,
    empty: new Uint8Array(0),
  };
  const decoded = decodeWire(encodeWire(structuredClone(value)));
  assert.ok(decoded !== null && typeof decoded === 'object');
  assert.equal(Reflect.get(decoded, 'op'), 'accept');
  assert.equal(Reflect.get(decoded, 'id'), 42);
  assert.equal(Reflect.get(decoded, 'none'), null);
  assert.deepEqual(Reflect.get(decoded, 'list'), [{ sid: 'S-1-5-21', attrs: 7 }]);
  const empty: unknown = Reflect.get(decoded, 'empty');
  assert.ok(empty instanceof Uint8Array && empty.byteLength === 0);
  const token: unknown = Reflect.get(decoded, 'token');
  assert.ok(token instanceof Uint8Array);
  assert.deepEqual([...token], [1, 2, 3]);
  const bindings: unknown = Reflect.get(decoded, 'bindings');
  assert.ok(bindings !== null && typeof bindings === 'object');
  const cb: unknown = Reflect.get(bindings, 'applicationData');
  assert.ok(cb instanceof Uint8Array);
  assert.equal(Buffer.from(cb).toString(), 'cb');
  assert.equal(Reflect.get(bindings, 'required'), true);
});
