/**
 * `negotiate-server serve --http-engine node`: the HTTP front end on node:http through the
 * adapter, as an operator runs it. curl gets /whoami; the log has the same `authenticated`
 * line (front end `adapter`); `--ntlm` completes NTLM over one keep-alive connection;
 * `--max-connections` is enforced at accept; other routes and methods are 404; an explicit
 * `--ws` with this engine is refused at start. Where the uWS binary cannot load (simulated by
 * test/fixtures/hideUws.cjs), the default engine refuses to start naming `--http-engine node`,
 * never switching by itself, and the node engine serves.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { requireTool, startTestRealm } from '../support/realm.js';
import { jsonLines, requirePythonGssapi, runClient } from '../support/server.js';
import { FIXTURES, Initiator } from '../support/initiator.js';
import { httpGet } from '../support/httpGet.js';
import { KeepAliveConnection } from '../support/keepAliveHttp.js';
import { waitUntil } from '../support/waitUntil.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'negotiate-server.js');
const curl = requireTool('curl', 'curl');
const T = { timeout: 60_000 };
const MAX_CONNECTIONS = 4;

let realm: ThrowawayRealm;
let server: ChildProcessWithoutNullStreams | undefined;
let stderr = '';
let port = 0;
let listening: Record<string, unknown> = {};

function cliEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...realm.env(), LC_ALL: 'C' };
  delete env['KRB5CCNAME'];
  return env;
}

before(async () => {
  requirePythonGssapi();
  realm = await startTestRealm();
  server = spawn(
    process.execPath,
    [
      BIN,
      'serve',
      '--keytab',
      realm.keytab,
      '--http',
      '127.0.0.1:0',
      '--http-engine',
      'node',
      '--ntlm',
      '--ntlm-users',
      realm.ntlmUserFile,
      '--max-connections',
      String(MAX_CONNECTIONS),
      '--workers',
      '1',
    ],
    { env: cliEnv() },
  );
  server.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const child = server;
  listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line within 30 s; stderr:\n${stderr}`)), 30_000);
    child.once('exit', (code) => reject(new Error(`serve exited (${code}) before listening; stderr:\n${stderr}`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      for (const e of jsonLines(line)) {
        if (e['event'] === 'listening' && e['frontend'] === 'http') {
          clearTimeout(timer);
          resolve(e);
        }
      }
    });
  });
  port = listening['port'] as number;
});

after(async () => {
  if (server?.pid !== undefined && server.exitCode === null) {
    const exited = new Promise((resolve) => server?.once('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  await realm?.destroy();
});

test('the listening line names the http front end and no WebSocket route', T, () => {
  assert.equal(listening['address'], '127.0.0.1');
  assert.equal(listening['ws'], undefined);
});

test('curl --negotiate gets /whoami from the node engine, logged as an adapter handshake', T, async () => {
  const run = await runClient(
    curl,
    ['-sS', '--negotiate', '-u', ':', '--resolve', `localhost:${port}:127.0.0.1`, `http://localhost:${port}/whoami`],
    realm,
    15_000,
  );
  assert.equal(run.code, 0, run.stderr);
  const body = JSON.parse(run.stdout) as Record<string, unknown>;
  assert.equal(body['principal'], realm.userPrincipal);
  assert.equal(body['mech'], 'krb5');
  assert.equal(body['via'], 'negotiate');
  await waitUntil(
    () => jsonLines(stderr).some((l) => l['msg'] === 'authenticated' && l['frontend'] === 'adapter'),
    () => `an 'authenticated' log line; stderr:\n${stderr}`,
  );
});

test('--ntlm on the node engine: NTLM in SPNEGO over one keep-alive connection', T, async () => {
  const init = Initiator.start(realm, { mech: 'spnego-ntlm', service: 'HTTP@localhost' });
  const conn = await KeepAliveConnection.open(port);
  try {
    const r1 = await conn.get('/whoami', {
      Authorization: `Negotiate ${(await init.step()).token.toString('base64')}`,
    });
    assert.equal(r1.status, 401, r1.body);
    const challenge = /^Negotiate (\S+)$/.exec(r1.headers.get('www-authenticate')?.[0] ?? '')?.[1];
    assert.ok(challenge, 'leg 2 carries the NTLM challenge');
    const leg3 = await init.step(Buffer.from(challenge, 'base64'));
    const r3 = await conn.get('/whoami', { Authorization: `Negotiate ${leg3.token.toString('base64')}` });
    assert.equal(r3.status, 200, r3.body);
    assert.equal((JSON.parse(r3.body) as { principal: string }).principal, realm.ntlmUser);
  } finally {
    conn.close();
    init.close();
  }
});

test('other routes and methods are 404, as on uWS', T, async () => {
  assert.equal((await httpGet(port, '/')).status, 404);
  const post = await new Promise<number>((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () =>
      s.write('POST /whoami HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi'),
    );
    let text = '';
    s.setEncoding('latin1').on('data', (d: string) => (text += d));
    s.on('error', reject).on('close', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
  });
  assert.equal(post, 404);
});

test('--max-connections: a connection beyond the cap is closed at accept; below it, served again', T, async () => {
  const held: KeepAliveConnection[] = [];
  try {
    for (let i = 0; i < MAX_CONNECTIONS; i++) {
      const c = await KeepAliveConnection.open(port);
      assert.equal((await c.get('/whoami')).status, 401);
      held.push(c);
    }
    const over = await KeepAliveConnection.open(port);
    await waitUntil(() => over.closed, 'the connection over the cap to be closed by the server');
    await waitUntil(
      () => /connection cap reached/.test(stderr),
      () => `a cap warning; stderr:\n${stderr}`,
    );
    held.pop()?.close();
    await waitUntil(async () => (await httpGet(port, '/whoami').catch(() => ({ status: 0 }))).status === 401, 'a slot');
  } finally {
    for (const c of held) c.close();
  }
});

test('--http-engine node with --ws PATH: refused at start with a configuration error', T, async () => {
  const child = spawn(
    process.execPath,
    [BIN, 'serve', '--keytab', realm.keytab, '--http', '127.0.0.1:0', '--http-engine', 'node', '--ws', '/ws'],
    { env: cliEnv() },
  );
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  assert.equal(code, 2, err);
  assert.equal(out, '', 'no listening line');
  assert.match(err, /http\.ws needs http\.engine 'uws'/);
  assert.match(err, /--http-engine uws/);
});

/** Runs `serve ARGS` with uWebSockets.js made unloadable; resolves once it listens or exits. */
async function serveWithoutUws(
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string; whoami: string | undefined }> {
  const child = spawn(process.execPath, ['--require', path.join(FIXTURES, 'hideUws.cjs'), BIN, 'serve', ...args], {
    env: cliEnv(),
  });
  let out = '';
  let err = '';
  let whoami: string | undefined;
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await waitUntil(
    () => out.includes('"listening"') || child.exitCode !== null,
    () => `a listening line or an exit; stderr:\n${err}`,
    30_000,
  );
  if (child.exitCode === null) {
    const port = (jsonLines(out).find((e) => e['event'] === 'listening')?.['port'] ?? 0) as number;
    const r = await runClient(
      curl,
      ['-sS', '--negotiate', '-u', ':', '--resolve', `localhost:${port}:127.0.0.1`, `http://localhost:${port}/whoami`],
      realm,
      15_000,
    );
    whoami = r.stdout;
    child.kill('SIGTERM');
  }
  return { code: await exited, stdout: out, stderr: err, whoami };
}

test('no uWS binary: the default engine refuses to start and names --http-engine node', T, async () => {
  const r = await serveWithoutUws(['--keytab', realm.keytab, '--http', '127.0.0.1:0', '--ws', 'none']);
  assert.equal(r.code, 1, r.stderr);
  assert.doesNotMatch(r.stdout, /"listening"/, 'no silent switch to another engine');
  assert.match(r.stderr, /ERR_UWS_UNAVAILABLE/);
  assert.match(r.stderr, /--http-engine node/);
});

test('no uWS binary: --http-engine node serves /whoami', T, async () => {
  const r = await serveWithoutUws(['--keytab', realm.keytab, '--http', '127.0.0.1:0', '--http-engine', 'node']);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.whoami, 'it listened and curl ran');
  assert.equal((JSON.parse(r.whoami) as { principal: string }).principal, realm.userPrincipal);
});
