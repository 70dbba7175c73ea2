/**
 * A child process holding many idle TCP connections to one port, for
 * idleConnections.test.ts: the sockets live here so that neither process needs more file
 * descriptors than `ulimit -n` allows. Not a test file (the runner takes only *.test.js).
 *
 *   node idleClients.js PORT COUNT
 *
 * Opens COUNT connections to 127.0.0.1:PORT (at most 256 connecting at once), sends nothing,
 * and prints one JSON line per event on stdout:
 *   {"event":"opened","open":N,"failed":F,"ms":T}
 * then answers JSON commands on stdin, one per line:
 *   {"op":"status"}        -> {"event":"status","open":N,"closedByServer":K}
 *   {"op":"open","n":N}    -> opens N more, waits 1 s, {"event":"extra","opened":N,"closedByServer":K}
 *                             (K: how many of those N the server closed)
 *   {"op":"close"}         -> destroys every socket, {"event":"closed","count":N}, exits 0
 * It exits on its own (code 3) if stdin closes: a test that died leaves nothing behind.
 */
import net from 'node:net';
import { createInterface } from 'node:readline';

const port = Number(process.argv[2]);
const count = Number(process.argv[3]);
const CONNECTING_AT_ONCE = 256;
const CONNECT_TIMEOUT_MS = 10_000;

interface Held {
  socket: net.Socket;
  closedByServer: boolean;
}

const held = new Set<Held>();
let closedByServer = 0;
let closing = false;

function out(obj: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

/** One connection; resolves with it once connected, or undefined if it failed. */
function connectOne(): Promise<Held | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const h: Held = { socket, closedByServer: false };
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(undefined);
    }, CONNECT_TIMEOUT_MS);
    socket.once('connect', () => {
      clearTimeout(timer);
      held.add(h);
      resolve(h);
    });
    socket.on('error', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
    // Before we close them, a close can only come from the server (its limit or a deadline).
    socket.on('close', () => {
      if (!closing && held.has(h)) {
        h.closedByServer = true;
        closedByServer += 1;
      }
      held.delete(h);
    });
  });
}

async function open(n: number): Promise<{ opened: Held[]; failed: number }> {
  const opened: Held[] = [];
  let failed = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      next += 1;
      const h = await connectOne();
      if (h) opened.push(h);
      else failed += 1;
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONNECTING_AT_ONCE, n) }, worker));
  return { opened, failed };
}

const t0 = Date.now();
const first = await open(count);
out({ event: 'opened', open: held.size, failed: first.failed, ms: Date.now() - t0 });

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const cmd = JSON.parse(line) as { op: string; n?: number };
  void (async () => {
    switch (cmd.op) {
      case 'status':
        out({ event: 'status', open: held.size, closedByServer });
        break;
      case 'open': {
        const extra = await open(cmd.n ?? 1);
        await new Promise((r) => setTimeout(r, 1000));
        out({
          event: 'extra',
          opened: extra.opened.length,
          closedByServer: extra.opened.filter((h) => h.closedByServer).length,
        });
        break;
      }
      case 'close': {
        closing = true;
        const n = held.size;
        const all = [...held].map(
          (h) => new Promise<void>((resolve) => h.socket.once('close', () => resolve()).destroy()),
        );
        await Promise.all(all);
        out({ event: 'closed', count: n });
        process.exit(0);
        break;
      }
      default:
        out({ event: 'error', message: `unknown op ${cmd.op}` });
    }
  })();
});
lines.on('close', () => process.exit(3));
