/**
 * The HTTP and WebSocket front ends' peer address (src/acceptors/httpSetup.ts): formatted from
 * uWS's binary address exactly as uWS's own getRemoteAddressAsText() writes it, on real
 * connections (an IPv4 listener, an IPv6 one, and an IPv4 client of a dual-stack listener), and
 * nothing for an address of any other length.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { formatPeerAddress, remoteAddressOf } from '../../src/acceptors/httpSetup.js';
import type { us_listen_socket } from 'uwebsockets';
import { loadUws } from '../../src/acceptors/uws.js';

interface Seen {
  ours: string | undefined;
  uws: string;
}

/** One request from `clientHost` to a uWS app listening on `listenHost`: both forms of the peer. */
async function peerOf(listenHost: string, clientHost: string): Promise<Seen> {
  const uWS = loadUws();
  const app = uWS.App();
  let seen: Seen | undefined;
  app.get('/*', (res) => {
    seen = { ours: remoteAddressOf(res), uws: Buffer.from(res.getRemoteAddressAsText()).toString('latin1') };
    res.end('ok');
  });
  const socket = await new Promise<us_listen_socket>((resolve, reject) =>
    app.listen(listenHost, 0, (s) => (s === false ? reject(new Error(`cannot listen on ${listenHost}`)) : resolve(s))),
  );
  try {
    const port = uWS.us_socket_local_port(socket);
    await new Promise<void>((resolve, reject) => {
      const c = connect({ host: clientHost, port }, () => c.end('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
      c.on('data', () => c.destroy());
      c.on('close', () => resolve());
      c.on('error', reject);
    });
  } finally {
    uWS.us_listen_socket_close(socket);
  }
  assert.ok(seen, 'the request reached the handler');
  return seen;
}

test('IPv4 listener: dotted decimal, as uWS writes it', async () => {
  const seen = await peerOf('127.0.0.1', '127.0.0.1');
  assert.equal(seen.uws, '127.0.0.1');
  assert.equal(seen.ours, seen.uws);
});

test('IPv6 listener: eight groups of four hex digits, as uWS writes them', async () => {
  const seen = await peerOf('::1', '::1');
  assert.equal(seen.uws, '0000:0000:0000:0000:0000:0000:0000:0001');
  assert.equal(seen.ours, seen.uws);
});

test('dual-stack listener, IPv4 client: the mapped address, as uWS writes it', async () => {
  const seen = await peerOf('::', '127.0.0.1');
  assert.equal(seen.uws, '0000:0000:0000:0000:0000:ffff:7f00:0001');
  assert.equal(seen.ours, seen.uws);
});

test('binary forms: every byte value, and no address for any other length', () => {
  assert.equal(formatPeerAddress(Uint8Array.of(10, 0, 255, 9)), '10.0.255.9');
  const v6 = Uint8Array.from({ length: 16 }, (_, i) => (i * 17 + 0xa0) & 0xff);
  assert.equal(formatPeerAddress(v6), 'a0b1:c2d3:e4f5:0617:2839:4a5b:6c7d:8e9f');
  for (let b = 0; b < 256; b++) {
    const text = formatPeerAddress(Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, b));
    assert.equal(text, `0000:0000:0000:0000:0000:0000:0000:00${b.toString(16).padStart(2, '0')}`);
  }
  for (const n of [0, 1, 3, 5, 15, 17]) assert.equal(formatPeerAddress(new Uint8Array(n)), undefined);
});
