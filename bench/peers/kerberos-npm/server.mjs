// Peer: the `kerberos` npm package (7.0.0) behind node:http, used the way its README shows:
// per request initializeServer(service) (which acquires the acceptor credential each time)
// then server.step(token). Both run on libuv's threadpool (UV_THREADPOOL_SIZE, default 4).
//
// Usage: node server.mjs [port] [service]   (port 0 = any; service default HTTP@localhost)
// Keytab via KRB5_KTNAME. Prints one JSON line: {"event":"listening","frontend":"http",...}.
import { createServer } from 'node:http';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
/** @type {typeof import('kerberos')} */
const kerberos = require('kerberos');

const port = Number(process.argv[2] ?? 0);
const service = process.argv[3] ?? 'HTTP@localhost';

/** @param {import('node:http').ServerResponse} res */
function challenge(res) {
  res.writeHead(401, { 'WWW-Authenticate': 'Negotiate', 'Content-Length': '0' });
  res.end();
}

const server = createServer(async (req, res) => {
  const auth = req.headers.authorization;
  const m = auth ? /^Negotiate\s+(\S+)\s*$/i.exec(auth) : null;
  if (req.url !== '/whoami' || req.method !== 'GET') {
    res.writeHead(404, { 'Content-Length': '0' });
    res.end();
    return;
  }
  if (!m) return challenge(res);
  try {
    const acceptor = await kerberos.initializeServer(service);
    await acceptor.step(m[1]);
    if (!acceptor.contextComplete) return challenge(res);
    const body = 'ok\n';
    /** @type {Record<string, string>} */
    const headers = {
      'Content-Type': 'text/plain',
      'Content-Length': String(body.length),
      'X-Remote-User': acceptor.username,
    };
    // Mutual authentication: the AP-REP goes back on the 200.
    if (acceptor.response) headers['WWW-Authenticate'] = `Negotiate ${acceptor.response}`;
    res.writeHead(200, headers);
    res.end(body);
  } catch {
    // A failed accept (bad token, replay, ...) is a 401, like Apache's; no token in logs.
    challenge(res);
  }
});

server.keepAliveTimeout = 15_000;
server.listen(port, '127.0.0.1', () => {
  const a = /** @type {import('node:net').AddressInfo} */ (server.address());
  process.stdout.write(
    `${JSON.stringify({ event: 'listening', frontend: 'http', address: a.address, port: a.port, pid: process.pid })}\n`,
  );
});

for (const sig of /** @type {const} */ (['SIGTERM', 'SIGINT'])) {
  process.on(sig, () => {
    server.close();
    server.closeAllConnections();
    process.exit(0);
  });
}
