/**
 * A plain node:http server protected by the adapter, as an application would write it: the
 * test's stand-in for "your own server". `/whoami` answers the identity as JSON.
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { AdapterIdentity, NegotiateAuthenticator } from '../../src/adapter/index.js';
import type { AdapterHandshakeFailure } from '../../src/adapter/index.js';

export interface AdapterServer {
  readonly server: http.Server;
  readonly port: number;
  readonly sessions: AdapterIdentity[];
  readonly failures: AdapterHandshakeFailure[];
  close(): Promise<void>;
}

/** A node:http server, or node:https with `tls` (PEM contents). */
export async function startAdapterServer(
  auth: NegotiateAuthenticator,
  tls?: { cert: Buffer; key: Buffer },
): Promise<AdapterServer> {
  const sessions: AdapterIdentity[] = [];
  const failures: AdapterHandshakeFailure[] = [];
  auth.on('session', (s: AdapterIdentity) => sessions.push(s));
  auth.on('handshakeFailed', (f: AdapterHandshakeFailure) => failures.push(f));
  const handler: http.RequestListener = (req, res) => {
    void auth.authenticate(req).then((outcome) => {
      auth.apply(outcome, res);
      if (outcome.kind !== 'authenticated') return;
      const { principal, mech, spnego, flags, via, remoteAddress } = outcome.identity;
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ principal, mech, spnego, flags, via, remoteAddress, method: req.method, url: req.url }));
    });
  };
  const server = tls === undefined ? http.createServer(handler) : https.createServer(tls, handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    sessions,
    failures,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
