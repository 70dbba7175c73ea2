#!/usr/bin/env node
/**
 * The smoke subset that runs under Node versions other than the machine's (Node 22 and 24:
 * scripts/node-versions.sh fetches them and builds the addon for each). It runs against the
 * package root it sits in (../dist, ../build/Release), so the caller points it at a staged copy
 * whose addon was built for the running Node.
 *
 * Each check is one entry of CHECKS: `{ name, run(ctx) }`, `ctx.realm()` starting the
 * throwaway realm on first use. To add one, append an entry; `--only SUBSTRING` runs the
 * matching ones. Exit 0 when every check passed, 1 otherwise; one line per check on stdout.
 *
 *   node scripts/node-smoke.mjs [--only SUBSTRING]
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Imports a module of the compiled package under test. */
const load = (rel) => import(pathToFileURL(path.join(root, 'dist', 'src', rel)).href);

/** Runs `file args` with `env` added; resolves { code, stdout, stderr }, bounded by `timeoutMs`. */
function run(file, args, env, timeoutMs = 20_000) {
  return new Promise((resolve) => {
    execFile(file, args, { env: { ...process.env, ...env }, timeout: timeoutMs }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

const CHECKS = [
  {
    name: 'the native addon loads and answers',
    async run() {
      const { loadNative } = await load('native.js');
      const addon = loadNative();
      assert.equal(typeof addon.accept, 'function');
      assert.equal(typeof addon.stats().live, 'number');
    },
  },
  {
    name: 'gss-sample handshake: MIT gss-client against a TCP front end, throwaway realm',
    async run(ctx) {
      const realm = await ctx.realm();
      const { NegotiateServer } = await load('index.js');
      const server = await NegotiateServer.start({
        credentials: { keytab: realm.keytab },
        tcp: { gssSample: { port: 0 } },
        workers: 1,
        shutdownGraceMs: 500,
      });
      const sessions = [];
      server.on('session', (s) => sessions.push(s));
      try {
        const port = server.listening().find((l) => l.frontend === 'gss-sample')?.port;
        assert.ok(port, 'the gss-sample listener');
        const r = await run('gss-client', ['-port', String(port), 'localhost', 'host@localhost', 'hello'], {
          ...realm.env(),
          LC_ALL: 'C',
        });
        assert.equal(r.code, 0, `gss-client failed:\n${r.stdout}\n${r.stderr}`);
        for (let i = 0; i < 100 && sessions.length === 0; i++) await new Promise((res) => setTimeout(res, 20));
        assert.equal(sessions[0]?.principal, realm.userPrincipal);
        assert.equal(sessions[0]?.flags.mutual, true);
      } finally {
        await server.close();
      }
    },
  },
  {
    name: 'adapter: curl --negotiate against an Express app protected by negotiate-server/express',
    async run(ctx) {
      const realm = await ctx.realm();
      const { negotiate } = await load('express/index.js');
      const { AuthPool } = await load('index.js');
      // Express is a dev dependency of this tree (node_modules is linked into the stage).
      const { default: express } = await import('express');
      const pool = await AuthPool.start({ credentials: { keytab: realm.keytab }, workers: 1 });
      const app = express();
      app.use(negotiate({ pool }));
      app.post('/echo', express.text(), (req, res) =>
        res.json({ principal: req.negotiate?.principal, body: req.body }),
      );
      const server = await new Promise((resolve) => {
        const s = app.listen(0, '127.0.0.1', () => resolve(s));
      });
      try {
        const url = `http://localhost:${server.address().port}/echo`;
        const r = await run(
          'curl',
          ['-sS', '--negotiate', '-u', ':', '-H', 'Content-Type: text/plain', '--data', 'ping', url],
          realm.env(),
        );
        assert.equal(r.code, 0, `curl failed:\n${r.stderr}`);
        const body = JSON.parse(r.stdout);
        assert.equal(body.principal, realm.userPrincipal);
        assert.equal(body.body, 'ping', 'the body reached the handler after authentication');
      } finally {
        await new Promise((resolve) => server.close(resolve));
        await pool.close();
      }
    },
  },
  {
    name: 'uWS: loads, or refuses with ERR_UWS_UNAVAILABLE naming --http-engine node',
    async run(ctx) {
      const { loadUws } = await load('acceptors/uws.js');
      try {
        loadUws();
        ctx.note('uWS loads here');
      } catch (err) {
        assert.equal(err.code, 'ERR_UWS_UNAVAILABLE', String(err));
        assert.match(err.message, /--http-engine node/);
        assert.match(err.message, new RegExp(`Node ${process.versions.node.replaceAll('.', '\\.')}`));
        ctx.note(err.message.split(':')[0] + ': ' + (/needs glibc [0-9.]+/.exec(err.message)?.[0] ?? 'no binary'));
      }
    },
  },
];

async function main() {
  const only = process.argv.indexOf('--only') >= 0 ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
  let realm;
  let failed = 0;
  const ctx = {
    async realm() {
      if (realm) return realm;
      const { ThrowawayRealm } = await load('realm/index.js');
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'negotiate-smoke-'));
      realm = await ThrowawayRealm.create({ dir });
      // What the pool's workers and the clients read: set before the pool starts.
      const env = realm.env();
      for (const k of ['KRB5_CONFIG', 'KRB5RCACHEDIR', 'NTLM_USER_FILE']) process.env[k] = env[k];
      return realm;
    },
    note: (text) => console.log(`   ${text}`),
  };
  console.log(`node-smoke: Node ${process.versions.node} (ABI ${process.versions.modules}), package ${root}`);
  try {
    for (const check of CHECKS) {
      if (only !== undefined && !check.name.includes(only)) continue;
      const t0 = performance.now();
      try {
        await check.run(ctx);
        console.log(`ok   ${check.name} (${Math.round(performance.now() - t0)} ms)`);
      } catch (err) {
        failed++;
        console.log(`FAIL ${check.name}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  } finally {
    await realm?.destroy();
  }
  process.exitCode = failed === 0 ? 0 : 1;
}

await main();
