/** ConnectionGate: counting a port's sockets from /proc, and pausing/resuming at the cap. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net, { type AddressInfo } from 'node:net';

import { ConnectionGate, countPortConnections, namespaceTcpSockets } from '../../src/http/ConnectionGate.js';

test('countPortConnections counts the server-side sockets of a port, not the clients or the listener', async (t) => {
  const server = net.createServer((s) => s.on('error', () => undefined));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const port = (server.address() as AddressInfo).port;
  if ((await countPortConnections(port)) === undefined) {
    t.skip('no /proc/net/tcp here');
    return;
  }
  assert.equal(await countPortConnections(port), 0);
  const clients = await Promise.all(
    Array.from(
      { length: 3 },
      () =>
        new Promise<net.Socket>((resolve) => {
          const c = net.connect(port, '127.0.0.1', () => resolve(c));
        }),
    ),
  );
  assert.equal(await countPortConnections(port), 3);
  for (const c of clients) c.destroy();
  const deadline = Date.now() + 3000;
  while ((await countPortConnections(port)) !== 0) {
    assert.ok(Date.now() < deadline, 'closed sockets stop counting');
    await new Promise((r) => setTimeout(r, 20));
  }
});

test('the gate pauses at the cap, resumes below it, and retries a resume that failed', async () => {
  const counts = [1, 2, 2, 1, 1, 0];
  const calls: string[] = [];
  let resumeWorks = false;
  const gate = new ConnectionGate({
    port: 1,
    cap: 2,
    count: () => Promise.resolve(counts.shift()),
    pause: () => calls.push('pause'),
    resume: () => {
      calls.push(resumeWorks ? 'resume' : 'resume failed');
      return Promise.resolve(resumeWorks);
    },
  });
  gate.stop();
  await gate.sample(); // 1
  assert.equal(gate.paused, false);
  await gate.sample(); // 2: at the cap
  assert.equal(gate.paused, true);
  await gate.sample(); // 2: still
  await gate.sample(); // 1: resume fails, still paused
  assert.equal(gate.paused, true);
  resumeWorks = true;
  await gate.sample(); // 1: resumed
  assert.equal(gate.paused, false);
  assert.equal(gate.connections, 1);
  assert.deepEqual(calls, ['pause', 'resume failed', 'resume']);
});

test('namespaceTcpSockets counts the TCP sockets in use in the namespace, open connections included', async (t) => {
  if (namespaceTcpSockets() === undefined) {
    t.skip('no /proc/net/sockstat here');
    return;
  }
  const server = net.createServer((s) => s.on('error', () => undefined));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const port = (server.address() as AddressInfo).port;
  const clients = await Promise.all(
    Array.from(
      { length: 3 },
      () =>
        new Promise<net.Socket>((resolve) => {
          const c = net.connect(port, '127.0.0.1', () => resolve(c));
        }),
    ),
  );
  t.after(() => clients.forEach((c) => c.destroy()));
  // Other processes share the namespace, so only a lower bound holds: the listener, three
  // clients and (once accepted) their three server sides.
  const deadline = Date.now() + 3000;
  while ((namespaceTcpSockets() ?? 0) < 7) {
    assert.ok(Date.now() < deadline, `at least 7 TCP sockets in use, counted ${namespaceTcpSockets()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
});
