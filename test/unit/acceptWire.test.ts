/** workers/acceptWire.ts through wireFrames: accept calls and results in fixed layouts, the rest as JSON. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fixedLayout } from '../../workers/acceptWire.js';
import { readWireBatch, WireBatchWriter } from '../../workers/wireFrames.js';

function roundTrip(value: object): unknown {
  const w = new WireBatchWriter(8);
  w.append(7, value);
  let out: unknown;
  readWireBatch(Uint8Array.from(w.frames()), (seq, v) => {
    assert.equal(seq, 7);
    out = v;
  });
  return out;
}

/** The value with its byte arrays as Buffers, as the reader gives them. */
function expected(value: object): unknown {
  return JSON.parse(JSON.stringify(value), (_k, v: unknown) =>
    v !== null && typeof v === 'object' && Reflect.get(v, 'type') === 'Buffer'
      ? Buffer.from(Reflect.get(v, 'data'))
      : v,
  );
}

const flags = {
  mutual: true,
  replay: false,
  sequence: true,
  integrity: true,
  confidentiality: false,
  delegation: true,
  anonymous: false,
  channelBound: true,
  // delegation 1, mutual 2, sequence 8, integrity 32, channel bound 2048; 128 and 256 mean nothing here.
  bits: 0x9ab,
};
const complete = {
  ok: true,
  status: 'complete',
  output: Buffer.from([9, 8, 7]),
  principal: 'alïce@EXAMPLE.TEST',
  mech: 'krb5',
  spnego: true,
  flags,
  lifetime: 35999,
  op: 'accept',
  workerThreadId: 4,
};

test('the hot shapes take a fixed layout and come back equal', () => {
  const values: object[] = [
    { op: 'accept', id: 2 ** 40 + 3, token: Buffer.from('tok'), releaseAfter: true },
    { op: 'accept', id: 5, token: Buffer.alloc(0), sealOnComplete: Buffer.from('hello') },
    { ok: true, status: 'continue', output: Buffer.from('more'), op: 'accept', workerThreadId: 2 },
    complete,
    { ...complete, mech: 'ntlmssp', spnego: false, lifetime: null },
    { ...complete, sealed: { ok: true, trailer: Buffer.from('tr'), ciphertext: Buffer.from('ct') } },
  ];
  for (const v of values) {
    assert.ok(fixedLayout(v) !== undefined, JSON.stringify(v));
    const want = expected(v);
    const got = roundTrip(v);
    assert.deepEqual(got, want);
  }
});

test('anything beyond the fixed fields goes as JSON, whole', () => {
  const values: object[] = [
    { op: 'accept', id: 1, token: Buffer.from('t'), slot: 'ws' },
    { op: 'accept', id: 1, token: Buffer.from('t'), bindings: { required: true } },
    { op: 'accept', id: 1, token: Buffer.from('t'), releaseAfter: false },
    { ...complete, pac: { userSid: 'S-1-5-21-1', groups: [] } },
    { ...complete, localName: 'alice' },
    { ...complete, flags: { ...flags, future: true } },
    { ...complete, flags: { ...flags, replay: true } },
    { ...complete, flags: { ...flags, bits: 0x9a9 } },
    { ...complete, flags: { ...flags, channelBound: undefined } },
    { ...complete, sealed: { ok: false, code: 'ERR_GSS', message: 'no' } },
    { ok: false, code: 'ERR_GSS_DEFECTIVE_TOKEN', message: 'bad', op: 'accept', workerThreadId: 1 },
    { op: 'wrap', ok: true, token: Buffer.from('w'), confidential: true },
  ];
  for (const v of values) {
    assert.equal(fixedLayout(v), undefined, JSON.stringify(v));
    const want = expected(v);
    assert.deepEqual(roundTrip(structuredClone(v)), want);
  }
});
