/**
 * The raw-TCP front end's own cost per connection, without GSSAPI: a TcpAcceptor running the
 * sspi protocol on a stub pool (every accept completes at once with a fixed AP-REP and sealed
 * greeting), loaded by a child process that opens CONNS connections at a time, each sending one
 * frame and reading until the server closes. Prints the server process's CPU per connection
 * (process.cpuUsage: main thread plus libuv's), which is what a connection costs the socket
 * thread on top of the handshake itself.
 *
 *   node bench/tcpConnection.mjs [--root DIR] [--connections 64] [--count 8000]
 *
 * --root: a built tree (dist/) to load, so two builds can be compared A/B in turns.
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const here = fileURLToPath(import.meta.url);

if (process.argv[2] === 'client') {
  const [port, concurrency, total] = process.argv.slice(3).map(Number);
  const frame = Buffer.alloc(4 + 700);
  frame.writeUInt32LE(700, 0);
  let started = 0;
  let done = 0;
  const one = () => {
    if (started >= total) return;
    started += 1;
    const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
    s.on('data', () => undefined);
    s.on('error', () => undefined);
    s.on('end', () => s.destroy());
    s.on('close', () => {
      done += 1;
      if (done === total) process.send('done');
      else one();
    });
    s.write(frame);
  };
  process.on('message', () => {
    for (let i = 0; i < concurrency; i++) one();
  });
} else {
  const { values } = parseArgs({
    options: {
      root: { type: 'string', default: path.resolve(path.dirname(here), '..') },
      connections: { type: 'string', default: '64' },
      count: { type: 'string', default: '8000' },
    },
  });
  const root = path.resolve(values.root);
  const { TcpAcceptor } = await import(path.join(root, 'dist/src/acceptors/TcpAcceptor.js'));
  const { sspiProtocol } = await import(path.join(root, 'dist/src/acceptors/sspiProtocol.js'));
  const step = {
    status: 'complete',
    output: Buffer.alloc(150, 1),
    sealed: { trailer: Buffer.alloc(60, 2), ciphertext: Buffer.alloc(28, 3) },
    principal: 'alice@KRBTEST.COM',
    mech: 'krb5',
    spnego: true,
    flags: { mutual: true },
    expiresAt: 0,
  };
  const pool = { accept: async () => step, release: () => true };
  const acceptor = new TcpAcceptor({ protocol: sspiProtocol(), pool });
  const { port } = await acceptor.listen(0, '127.0.0.1');
  const run = (total) =>
    new Promise((resolve) => {
      const child = fork(here, ['client', String(port), values.connections, String(total)], { execArgv: [] });
      child.on('message', () => {
        child.kill();
        resolve();
      });
      child.on('spawn', () => setTimeout(() => child.send('go'), 200));
    });
  await run(2000); // warm-up: JIT, socket tables
  const count = Number(values.count);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await run(count);
  const cpu = process.cpuUsage(cpu0);
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    JSON.stringify({
      root,
      connections: Number(values.connections),
      count,
      cpuUsPerConnection: +((cpu.user + cpu.system) / count).toFixed(1),
      userUs: +(cpu.user / count).toFixed(1),
      systemUs: +(cpu.system / count).toFixed(1),
      perSecond: Math.round(count / seconds),
      loadavg: readFileSync('/proc/loadavg', 'utf8').split(' ')[0],
    }),
  );
  await acceptor.close(100);
}
