/** `--local-name rules:FILE`: the rules file's parser (strict, line-numbered) and what rules map. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../src/errors.js';
import { LocalNameRules, MAX_RULES_FILE_BYTES, parseLocalNameRules } from '../../src/identity/localNameRules.js';
import { LocalNames } from '../../src/pool/localName.js';

const RULES = [
  '# local names for the web service',
  '',
  'alice@EXAMPLE.COM -> alice_local',
  '*/admin@EXAMPLE.COM -> $1-admin',
  '  *@EXAMPLE.COM   ->   $1  ',
  '/^(.+)@(CORP|EMEA)\\.EXAMPLE$/ -> $1.$2',
  'price@SHOP.EXAMPLE -> $$price',
].join('\n');

function mapped(text: string, principal: string): string | undefined {
  return parseLocalNameRules(text, 'rules').map(principal).name;
}

test('the first matching rule decides; globs and expressions give their groups', () => {
  const rules = parseLocalNameRules(RULES, 'rules');
  assert.equal(rules.rules.length, 5);
  assert.deepEqual(rules.map('alice@EXAMPLE.COM'), { name: 'alice_local', line: 3 });
  assert.deepEqual(rules.map('bob@EXAMPLE.COM'), { name: 'bob', line: 5 });
  assert.equal(rules.map('bob/admin@EXAMPLE.COM').name, 'bob-admin');
  assert.equal(rules.map('carol@EMEA.EXAMPLE').name, 'carol.EMEA');
  assert.equal(rules.map('price@SHOP.EXAMPLE').name, '$price');
});

test('a principal no rule matches has no local name, with the reason', () => {
  const rules = parseLocalNameRules(RULES, 'rules');
  for (const p of ['bob@OTHER.COM', 'bob/host/x@EXAMPLE.COM', 'bob@example.com', 'EXAMPLE\\bob', 'x@EXAMPLE.COMX']) {
    const r = rules.map(p);
    assert.equal(r.name, undefined, p);
    assert.ok('reason' in r && /no rule of rules matches/.test(r.reason ?? ''), p);
  }
  // `*` never spans `@` or `/`: a two-component name is not a one-component one.
  assert.equal(mapped('*@R -> $1', 'a/b@R'), undefined);
  // The expression must match the whole principal.
  assert.equal(mapped('/alice/ -> a', 'malice@R'), undefined);
  assert.equal(mapped('/alice@R/ -> a', 'alice@R'), 'a');
});

test('a rule that gives an unusable name gives none', () => {
  const r = parseLocalNameRules('/(.*)@R/ -> $1', 'rules').map('a b@R');
  assert.equal(r.name, undefined);
  assert.ok('reason' in r && /line 1 .* unusable/.test(r.reason ?? ''));
  assert.equal(mapped('/(.*)@R/ -> x$1', 'x/y@R'), undefined, 'a local name holds no /');
  assert.equal(mapped(`/(.*)@R/ -> $1`, `${'a'.repeat(300)}@R`), undefined, 'too long');
});

test('bad lines are refused with their line number', () => {
  const cases: Array<[string, RegExp]> = [
    ['alice@R alice', /line 2: expected "PATTERN -> NAME"/],
    ['alice@R -> ', /line 2: expected/],
    ['alice@R => alice', /line 2: expected/],
    ['alice @R -> alice', /line 2: expected/],
    ['/(unclosed@R/ -> x', /line 2: not a regular expression/],
    ['/alice@R -> x', /line 2: a regular expression is written/],
    ['*@R -> $2', /line 2: \$2 refers to a group the pattern does not have \(it has 1\)/],
    ['alice@R -> $1', /line 2: \$1 refers to a group/],
    ['alice@R -> a$b', /line 2: `\$` must be followed by a digit/],
    ['alice@R -> a/b', /line 2: a local name cannot hold a `\/`/],
    ['**@R -> $1', /line 2: `\*\*`/],
    ['*.*.*.*.*.*.*.*.*.*@R -> x', /line 2: at most 9/],
  ];
  for (const [line, want] of cases) {
    assert.throws(
      () => parseLocalNameRules(`# ok\n${line}\nbob@R -> bob`, 'rules.txt'),
      (e: unknown) =>
        e instanceof ConfigError && e.code === 'ERR_CONFIG' && want.test(e.message) && /rules\.txt/.test(e.message),
      line,
    );
  }
  // Comments, blank lines and CRLF line ends are fine; an empty file maps nobody.
  assert.equal(parseLocalNameRules('# none\r\n\r\nalice@R -> a\r\n', 'f').map('alice@R').name, 'a');
  assert.equal(parseLocalNameRules('', 'f').rules.length, 0);
});

test('read(): the file is bounded, and must exist', async () => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'negotiate-rules-'));
  try {
    const file = path.join(dir, 'rules');
    await writeFile(file, RULES);
    assert.equal((await LocalNameRules.read(file)).rules.length, 5);
    const names = await LocalNames.load(`rules:${file}`);
    assert.deepEqual(names.of({ principal: 'alice@EXAMPLE.COM' }), { name: 'alice_local', line: 3 });
    await writeFile(file, `# ${'x'.repeat(MAX_RULES_FILE_BYTES)}\n`);
    await assert.rejects(
      LocalNameRules.read(file),
      (e: unknown) => e instanceof ConfigError && /byte limit/.test(e.message),
    );
    await assert.rejects(
      LocalNames.load(`rules:${path.join(dir, 'missing')}`),
      (e: unknown) => e instanceof ConfigError && /cannot be read/.test(e.message),
    );
    await assert.rejects(
      LocalNameRules.read(dir),
      (e: unknown) => e instanceof ConfigError && /not a file/.test(e.message),
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('LocalNames without rules: the built-in modes, and the worker’s reason for none', async () => {
  const gss = await LocalNames.load('gss');
  assert.deepEqual(gss.of({ principal: 'a@R', localName: 'a' }), { name: 'a' });
  assert.deepEqual(gss.of({ principal: 'a@R', localNameRefused: 'no rule' }), { name: undefined, reason: 'no rule' });
  assert.deepEqual((await LocalNames.load('off')).of({ principal: 'a@R', localName: 'a' }), { name: undefined });
});
