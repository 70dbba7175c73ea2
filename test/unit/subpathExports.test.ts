/**
 * The package's subpath exports (package.json "exports"): what each one exports, and that none
 * but the one a user picks needs its framework. Express, Fastify and passport are optional peer
 * dependencies, so a child process in which importing them fails must still import the main
 * entry, the adapter and every wrapper (the wrappers use their framework's types only;
 * passport's Strategy base comes from passport-strategy, a dependency).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The repository root (tests run from dist/test/unit): package self-reference resolves from there. */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

const FRAMEWORKS = /^(express|fastify|passport)(\/|$)/;

function run(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

test('each wrapper subpath exports exactly these names', async () => {
  // Through the package's own name (self-reference), so the "exports" map itself is tested.
  const names = async (subpath: string): Promise<string[]> => {
    const specifier = `negotiate-server/${subpath}`;
    return Object.keys((await import(specifier)) as object).sort();
  };
  assert.deepEqual(await names('express'), ['negotiate']);
  assert.deepEqual(await names('fastify'), ['default', 'negotiate']);
  assert.deepEqual(await names('passport'), ['NegotiateStrategy', 'default']);
});

test('the main entry, the adapter and every wrapper import without Express, Fastify or passport', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'negotiate-exports-'));
  try {
    // A resolve hook that fails every import of the frameworks, as for a user who has none.
    await writeFile(
      path.join(dir, 'hooks.mjs'),
      `export async function resolve(specifier, context, next) {
  if (${FRAMEWORKS.toString()}.test(specifier)) {
    throw Object.assign(new Error('not installed: ' + specifier), { code: 'ERR_MODULE_NOT_FOUND' });
  }
  return next(specifier, context);
}
`,
    );
    const hooks = JSON.stringify(pathToFileURL(path.join(dir, 'hooks.mjs')).href);
    await writeFile(path.join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${hooks});\n`);
    const register = pathToFileURL(path.join(dir, 'register.mjs')).href;
    const script = `
const loaded = [];
for (const s of ['negotiate-server', 'negotiate-server/adapter', 'negotiate-server/express',
                 'negotiate-server/fastify', 'negotiate-server/passport']) {
  await import(s);
  loaded.push(s);
}
let blocked = false;
try { await import('express'); } catch { blocked = true; }
console.log(JSON.stringify({ loaded, blocked }));
`;
    const r = await run(['--import', register, '--input-type=module', '-e', script], ROOT);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim()) as { loaded: string[]; blocked: boolean };
    assert.equal(out.blocked, true, 'the hook did not hide express: this test would prove nothing');
    assert.equal(out.loaded.length, 5);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
