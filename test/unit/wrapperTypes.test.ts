/**
 * The wrappers' published types (dist/src/{express,fastify,passport}/index.d.ts) as a user's
 * TypeScript sees them: Express's Request gains `negotiate`, Fastify's request too, the strategy
 * fits passport.use(); and the Express middleware's declarations, checked themselves, need no
 * @types/express at all (a project whose only types are node's).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');

const WITH_FRAMEWORKS = `
import http from 'node:http';
import express from 'express';
import Fastify from 'fastify';
import passport from 'passport';
import { headerLimitFor } from '../../dist/src/adapter/index.js';
import { negotiate } from '../../dist/src/express/index.js';
import { negotiate as plugin } from '../../dist/src/fastify/index.js';
import { NegotiateStrategy } from '../../dist/src/passport/index.js';

const app = express();
app.use(negotiate({ credentials: { keytab: '/k' } }));
app.get('/', (req, res) => {
  const principal: string | undefined = req.negotiate?.principal;
  res.send(principal);
});
http.createServer({ maxHeaderSize: headerLimitFor(65536) }, app);
const f = Fastify();
void f.register(plugin, { credentials: { keytab: '/k' } });
f.get('/', async (request) => {
  const principal: string | undefined = request.negotiate?.principal;
  return principal;
});
passport.use(new NegotiateStrategy({}, (identity, done) => done(null, { id: identity.principal })));
`;

const NODE_ONLY = `
import http from 'node:http';
import { negotiate, type NegotiateRequest } from '../../dist/src/express/index.js';

const middleware = negotiate({ credentials: { keytab: '/k' } });
http.createServer((req: NegotiateRequest, res) =>
  middleware(req, res, () => res.end(req.negotiate?.principal ?? '')),
);
`;

function tsc(dir: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [TSC, '-p', dir], { timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, output: stdout + stderr });
    });
  });
}

/**
 * Compiles `source` as a user's app.ts. `skipLibCheck: false` also checks the declaration files
 * it loads (ours among them), at a cost of seconds per framework's types.
 */
async function compiles(source: string, options: { types?: string[]; skipLibCheck: boolean }): Promise<void> {
  // Inside the repository (dist/ is not committed), so 'express' etc. resolve from its node_modules.
  const dir = await mkdtemp(path.join(ROOT, 'dist', 'types-'));
  try {
    await writeFile(path.join(dir, 'app.ts'), source);
    const compilerOptions = {
      strict: true,
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      noEmit: true,
      ...options,
    };
    await writeFile(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['app.ts'] }));
    const r = await tsc(dir);
    assert.equal(r.code, 0, r.output);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('with the frameworks and their types, requests carry negotiate and the strategy fits passport', async () => {
  await compiles(WITH_FRAMEWORKS, { skipLibCheck: true });
});

test('the Express middleware type-checks in a project whose only types are node', async () => {
  await compiles(NODE_ONLY, { types: ['node'], skipLibCheck: false });
});
