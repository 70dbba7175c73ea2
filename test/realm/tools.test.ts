/**
 * The tool runner (src/realm/tools.ts) against stand-in tools: small shell scripts named like
 * MIT's, in a directory given as the search path, so every failure mode can be provoked.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

import { ConfigError } from '../../src/errors.js';
import { createDatabase, findTool, kadminLocal, kinit, runTool, toolEnv } from '../../src/realm/tools.js';

let bin: string;
let record: string;

/** Writes an executable stand-in for `name`. */
async function fakeTool(name: string, body: string): Promise<void> {
  await fs.writeFile(path.join(bin, name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
}

/** Options pointing the runner at the stand-ins only. */
function opts(extra: { timeoutMs?: number; input?: string } = {}) {
  return { env: { PATH: '/usr/bin:/bin', RECORD: record }, searchPath: [bin], ...extra };
}

async function refused(p: Promise<unknown>, ...patterns: RegExp[]): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.equal(err.code, 'ERR_REALM');
    for (const pattern of patterns) assert.match(err.message, pattern);
    return true;
  });
}

before(async () => {
  bin = await fs.mkdtemp(path.join(os.tmpdir(), 'negotiate-test-'));
  record = path.join(bin, 'record');
});
after(() => fs.rm(bin, { recursive: true, force: true }));

test('findTool: the first executable in the search path; a missing tool names its Debian package', async () => {
  const other = path.join(bin, 'other');
  await fs.mkdir(other, { recursive: true });
  await fs.writeFile(path.join(other, 'krb5kdc'), 'not executable', { mode: 0o644 });
  await refused(findTool('krb5kdc', [other, 'relative/dir']), /krb5kdc not found/, /apt-get install -y krb5-kdc$/);
  await refused(findTool('kadmin.local', [other]), /apt-get install -y krb5-admin-server$/);
  await fakeTool('krb5kdc', 'exit 0');
  assert.equal(await findTool('krb5kdc', [other, bin]), path.join(bin, 'krb5kdc'));
});

test('runTool: argv reaches the tool unchanged (no shell), input goes to stdin, output comes back', async () => {
  await fakeTool('kinit', 'printf "%s|" "$@" > "$RECORD"; cat; echo warn >&2');
  const out = await runTool('kinit', ['a b', '$HOME', "'q'", '*'], 'testing', opts({ input: 'line1\nline2\n' }));
  assert.equal(out.stdout, 'line1\nline2\n');
  assert.equal(out.stderr, 'warn\n');
  assert.equal(await fs.readFile(record, 'utf8'), "a b|$HOME|'q'|*|");
});

test('runTool: a failing tool gives ERR_REALM with what was done, its exit code, the last 20 lines', async () => {
  await fakeTool('kdb5_util', 'for i in $(seq 1 30); do echo "line $i"; done; echo "the cause" >&2; exit 3');
  await refused(
    runTool('kdb5_util', [], 'creating the thing', opts()),
    // 31 lines printed: the quote starts at line 12.
    /^creating the thing failed: kdb5_util exited with code 3; its output ends with:\nline 12\n/,
    /line 30\nthe cause$/,
  );
});

test('runTool: a tool that hangs is killed at the deadline, and the error says so', async () => {
  await fakeTool('kinit', 'echo "waiting for the KDC"; exec sleep 30');
  const started = Date.now();
  await refused(
    runTool('kinit', [], 'kinit of alice', opts({ timeoutMs: 300 })),
    /kinit of alice failed: kinit did not finish within 300 ms and was killed/,
    /waiting for the KDC/,
  );
  assert.ok(Date.now() - started < 5000, 'the deadline was not kept');
});

test('runTool: a tool killed by a signal, and one that cannot be executed', async () => {
  await fakeTool('kinit', 'kill -TERM $$');
  await refused(runTool('kinit', [], 'x', opts()), /kinit was killed by SIGTERM/);
  await fs.writeFile(path.join(bin, 'kinit'), '#!/nonexistent/interpreter\n', { mode: 0o755 });
  await refused(runTool('kinit', [], 'x', opts()), /x failed: cannot run .*kinit: .*ENOENT/);
});

test('runTool: a tool that exits without reading its stdin is reported by its exit code, not EPIPE', async () => {
  await fakeTool('kinit', 'exec 0<&-; echo "bad principal" >&2; exit 1');
  await refused(runTool('kinit', [], 'x', opts({ input: 'p'.repeat(1 << 20) })), /exited with code 1/, /bad principal/);
});

test('kadminLocal: -r REALM -q QUERY; exit 0 without the confirmation line is still a failure', async () => {
  await fakeTool('kadmin.local', 'printf "%s|" "$@" > "$RECORD"; echo "$REPLY_LINE"');
  const env = (reply: string) => ({ ...opts(), env: { ...opts().env, REPLY_LINE: reply } });
  await kadminLocal('R.TEST', 'addprinc -randkey x', '" created.', 'adding x', env('Principal "x@R.TEST" created.'));
  assert.equal(await fs.readFile(record, 'utf8'), '-r|R.TEST|-q|addprinc -randkey x|');
  await refused(
    kadminLocal('R.TEST', 'addprinc x', '" created.', 'adding x', env('add_principal: Principal already exists')),
    /adding x failed: kadmin.local did not confirm it; its output ends with:\nadd_principal: Principal already exists/,
  );
});

test('kinit and createDatabase: secrets on stdin, never in argv', async () => {
  const body = 'printf "%s|" "$@" > "$RECORD"; echo >> "$RECORD"; cat >> "$RECORD"';
  await fakeTool('kinit', body);
  await kinit('alice@R.TEST', 'pw-1', 'FILE:/tmp/cc', opts());
  assert.equal(await fs.readFile(record, 'utf8'), '-c|FILE:/tmp/cc|alice@R.TEST|\npw-1\n');
  await fakeTool('kdb5_util', body);
  await createDatabase('R.TEST', 'master-2', opts());
  assert.equal(await fs.readFile(record, 'utf8'), 'create|-s|-r|R.TEST|\nmaster-2\nmaster-2\n');
});

test("toolEnv points MIT at the realm's profiles and fixes the locale (outputs are matched as text)", () => {
  const env = toolEnv({ krb5Config: '/r/krb5.conf', kdcProfile: '/r/kdc.conf', rcacheDir: '/r/rcache' });
  assert.equal(env['KRB5_CONFIG'], '/r/krb5.conf');
  assert.equal(env['KRB5_KDC_PROFILE'], '/r/kdc.conf');
  assert.equal(env['KRB5RCACHEDIR'], '/r/rcache');
  assert.equal(env['LC_ALL'], 'C');
  assert.equal(env['PATH'], process.env['PATH']);
});
