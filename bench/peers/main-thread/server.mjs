// Bench-only peer: negotiate-server's own native addon called on the MAIN thread, no Piscina
// pool, behind the same uWebSockets.js HTTP stack, to show what the worker pool costs (one
// connection) and buys (many). Not a product component: no limits, no logs, no timeouts.
//
// Usage: node server.mjs [port] [replayCache] [threads]   (port 0 = any; replayCache
// default|none|file2:PATH; threads: 1, or N worker threads each running this whole server — its
// own uWS app and its own acceptor credential — on one port shared with SO_REUSEPORT, the kernel
// spreading connections over them: a front end whose socket threads call GSSAPI themselves, so
// nothing is handed off)
// Keytab via KRB5_KTNAME. Needs the project built (dist/ and build/Release/negotiate.node).
// Prints one JSON line: {"event":"listening","frontend":"http","port":N,...}.
//
// Per request, exactly what a worker does for HTTP (workers/accept.worker.ts with
// releaseAfter): addon.accept(id, token), then addon.release(id), synchronously, then the 200
// carrying the AP-REP in WWW-Authenticate (mutual authentication), as GET /whoami does.
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, threadId, Worker, workerData } from 'node:worker_threads';

const dist = fileURLToPath(new URL('../../../dist/src/', import.meta.url));
const { loadNative } = await import(`${dist}native.js`);
const { loadUws } = await import(`${dist}acceptors/uws.js`);

const rc = process.argv[3] ?? 'default';
const threads = Number(process.argv[4] ?? 1);
if (!Number.isInteger(threads) || threads < 1 || threads > 64) {
  process.stderr.write('main-thread server: threads must be 1 to 64\n');
  process.exit(2);
}

/** The one stdout line (for all threads, with more than one), then a clean exit on SIGTERM or SIGINT. */
function printListening(/** @type {number} */ listeningPort, /** @type {Record<string, number>} */ extra) {
  const line = { event: 'listening', frontend: 'http', address: '127.0.0.1', port: listeningPort, pid: process.pid };
  process.stdout.write(`${JSON.stringify({ ...line, ...extra })}\n`);
  for (const sig of /** @type {const} */ (['SIGTERM', 'SIGINT'])) process.on(sig, () => process.exit(0));
}

if (isMainThread && threads > 1) {
  // One port for all (uWS binds with SO_REUSEPORT, but a port it picked itself is not shared).
  const { freePort } = await import('../../lib/peerProcess.mjs');
  const port = Number(process.argv[2] ?? 0) || (await freePort());
  for (let i = 0; i < threads; i++) {
    const w = new Worker(fileURLToPath(import.meta.url), { argv: process.argv.slice(2), workerData: { port } });
    await new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
      w.once('exit', (code) => reject(new Error(`thread exited (${code}) before listening`)));
    });
  }
  printListening(port, { threads });
  await new Promise(() => {});
}
const port = isMainThread ? Number(process.argv[2] ?? 0) : Number(workerData.port);

/** @type {import('../../../src/native.js').NativeAddon} */
const addon = loadNative();
for (const fn of ['configureTable', 'acquireCredentials', 'accept', 'release']) {
  if (typeof addon[fn] !== 'function') {
    process.stderr.write(`main-thread server: the addon has no ${fn}() (its API changed)\n`);
    process.exit(1);
  }
}
addon.configureTable({ maxContexts: 100_000, handshakeTtlMs: 10_000 });
/** @type {import('../../../src/native.js').NativeCredentialOptions} */
const creds = { ntlm: false };
if (rc === 'none') creds.replayCache = 'none:';
else if (rc.startsWith('file2:')) creds.replayCache = rc;
const acquired = addon.acquireCredentials(creds);
if (!acquired.ok) {
  process.stderr.write(`main-thread server: cannot acquire acceptor credentials: ${acquired.message}\n`);
  process.exit(1);
}

const uws = loadUws({});
const app = uws.App();
// Any ids unique in this process do: each thread counts in its own range.
let nextId = 0x4000_0000 + threadId * 0x0100_0000;

/** @param {import('uwebsockets').HttpResponse} res */
function challenge(res) {
  res.writeStatus('401 Unauthorized').writeHeader('WWW-Authenticate', 'Negotiate').end();
}

app.get('/whoami', (res, req) => {
  const auth = req.getHeader('authorization');
  const m = /^Negotiate\s+([A-Za-z0-9+/=]+)\s*$/i.exec(auth);
  if (!m) return challenge(res);
  const id = ++nextId;
  const r = addon.accept(id, Buffer.from(/** @type {string} */ (m[1]), 'base64'));
  addon.release(id);
  if (!r.ok || r.status !== 'complete') return challenge(res);
  const body = JSON.stringify({ principal: r.principal, mech: r.mech, spnego: r.spnego, via: 'negotiate' });
  res.cork(() => {
    res.writeStatus('200 OK').writeHeader('Content-Type', 'application/json');
    if (r.output.length > 0)
      res.writeHeader(
        'WWW-Authenticate',
        `Negotiate ${Buffer.from(r.output.buffer, r.output.byteOffset, r.output.byteLength).toString('base64')}`,
      );
    res.end(body);
  });
});
app.any('/*', (res) => {
  res.writeStatus('404 Not Found').end();
});

app.listen('127.0.0.1', port, (listenSocket) => {
  if (listenSocket === false) {
    process.stderr.write(`main-thread server: cannot listen on 127.0.0.1:${port}\n`);
    process.exit(1);
  }
  const p = uws.us_socket_local_port(listenSocket);
  if (!isMainThread) {
    parentPort?.postMessage(p);
    return;
  }
  printListening(p, {});
});
