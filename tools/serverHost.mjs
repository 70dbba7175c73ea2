// A NegotiateServer in a process of its own, driven over the IPC channel of
// child_process.fork(). Two reasons to keep the server out of the driving process:
// - memory: the soak and the overload tests measure the server's RSS, not the load generator's;
// - crashes: a fatal error in a worker thread (a native abort) takes the whole process down, and
//   the driver must observe that as a failure with its stderr, not die with it.
//
// Start: fork(thisFile, [JSON options], { execArgv: ['--expose-gc'], env: realm environment })
// where the environment carries KRB5_CONFIG, KRB5RCACHEDIR and NTLM_USER_FILE (the acceptor's
// process-wide settings) and the options are a resolved (flat) server configuration, the
// white-box shape of the test helpers (src/options.ts ResolvedServerConfig), as far as it
// survives JSON, plus
//   forwardEvents: boolean   send 'session' and 'handshakeFailed' events to the parent
//   authorization: object    the public options' authorization rules (src/authorization/rules.ts)
//   logLevel: string         the host's log level (default silent).
//
// Child → parent:
//   { event: 'ready', listening: ListeningEvent[] }            once listening
//   { event: 'startFailed', code, message }                    then exit 1
//   { event: 'session', connectionId, frontend, principal, mech, spnego }
//   { event: 'handshakeFailed', connectionId, frontend, code, message }
//   { reply: id, ok: true, result } | { reply: id, ok: false, code, message }
// Parent → child: { id, op, ...args } with op:
//   stats {gc?: boolean}          pool.stats(), open connections per front end, memory
//   stall {ms}                    runs pool.stallWorker(ms); result: the worker's threadId
//   terminateWorker {threadId}    pool.terminateWorker(threadId); result: found or not
//   sweep                         pool.sweep(); result: handshakes freed
//   close {graceMs?}              server.close(), then the process exits 0
// The built product: the white-box start from a resolved (flat) configuration, which the
// package's public entry does not export (it takes nested options).
import { startResolvedServer } from '../dist/src/server.js';
import { resolveServerOptions } from '../dist/src/options.js';
import { createLogger } from '../dist/src/logger.js';

if (typeof process.send !== 'function') {
  process.stderr.write('serverHost.mjs runs under child_process.fork() (it needs an IPC channel)\n');
  process.exit(2);
}

/** @param {unknown} msg */
function send(msg) {
  // The parent may be gone (it crashed or was killed): nothing to report to then.
  if (process.connected) process.send?.(msg);
}

const options = JSON.parse(process.argv[2] ?? '{}');
const forwardEvents = options.forwardEvents === true;
const logLevel = options.logLevel ?? 'silent';
delete options.forwardEvents;
delete options.logLevel;

/** @type {import('../dist/src/server.js').NegotiateServer} */
let server;
try {
  // What JSON cannot carry (the WebSocket handler, the authorizer) is built here: the library's
  // default handler, and an authorizer from `authorization` (the public options' JSON rules).
  const { authorization } = options;
  delete options.authorization;
  const { onWsMessage, authorizer } = resolveServerOptions({ http: { port: 0, ws: {} }, authorization });
  server = await startResolvedServer({ onWsMessage, authorizer, ...options, logger: createLogger(logLevel) });
} catch (err) {
  send({ event: 'startFailed', code: err?.code ?? 'ERR', message: String(err?.message ?? err) });
  process.exit(1);
}

if (forwardEvents) {
  server.on('session', (s) =>
    send({
      event: 'session',
      connectionId: s.connectionId,
      frontend: s.frontend,
      principal: s.principal,
      mech: s.mech,
      spnego: s.spnego,
    }),
  );
  server.on('handshakeFailed', (f) =>
    send({
      event: 'handshakeFailed',
      connectionId: f.connectionId,
      frontend: f.frontend,
      code: f.code,
      message: f.message,
    }),
  );
}

const gc = /** @type {(() => void) | undefined} */ (globalThis.gc);

function stats(withGc) {
  // A full collection first, when asked: the drivers compare RSS before and after, and garbage
  // waiting for a collection is not a leak.
  if (withGc && gc) {
    gc();
    gc();
  }
  const m = process.memoryUsage();
  /** @type {Record<string, number>} */
  const connections = {};
  for (const a of server.acceptors) connections[a.framing] = a.connections;
  return {
    pool: server.pool.stats(),
    connections,
    memory: { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers },
    gcRan: Boolean(withGc && gc),
  };
}

let closing = false;
process.on('message', async (msg) => {
  const { id, op } = msg;
  try {
    let result;
    switch (op) {
      case 'stats':
        result = stats(msg.gc === true);
        break;
      case 'stall':
        result = await server.pool.stallWorker(Number(msg.ms));
        break;
      case 'terminateWorker':
        result = await server.pool.terminateWorker(Number(msg.threadId));
        break;
      case 'sweep':
        result = server.pool.sweep();
        break;
      case 'close':
        if (!closing) {
          closing = true;
          await server.close(msg.graceMs ?? 0);
        }
        send({ reply: id, ok: true, result: true });
        process.disconnect?.();
        process.exit(0);
        return;
      default:
        throw Object.assign(new Error(`unknown op ${JSON.stringify(op)}`), { code: 'ERR_HOST_OP' });
    }
    send({ reply: id, ok: true, result });
  } catch (err) {
    send({ reply: id, ok: false, code: err?.code ?? 'ERR', message: String(err?.message ?? err) });
  }
});

// The parent went away without closing us: do not linger as an orphan holding ports.
process.on('disconnect', () => {
  if (closing) return;
  closing = true;
  server.close(0).finally(() => process.exit(0));
});

send({ event: 'ready', listening: server.listening() });
