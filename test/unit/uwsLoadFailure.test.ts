/**
 * ERR_UWS_UNAVAILABLE's message (src/acceptors/uwsLoadFailure.ts): it says why the uWS binary
 * did not load, from the loader's own words, and names --http-engine node. The real failure
 * (Node 22/24 on glibc 2.36) is checked by scripts/node-smoke.mjs under those Node versions.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { uwsLoadFailureMessage, type UwsPlatform } from '../../src/acceptors/uwsLoadFailure.js';

const node22: UwsPlatform = { platform: 'linux', arch: 'x64', node: '22.23.5', abi: '127', glibc: '2.36' };

/** What require('uwebsockets') throws on Debian 12 under Node 22 (uws.js wraps the loader's error). */
const glibcError = new Error(
  'This version of uWS.js supports only Node.js versions 16, 18, 20, 21, 22, 24 and 25 on (glibc) Linux, ' +
    'macOS and Windows, on Tier 1 platforms (https://github.com/nodejs/node/blob/master/BUILDING.md#platform-list).' +
    "\n\nError: /lib/x86_64-linux-gnu/libc.so.6: version `GLIBC_2.38' not found " +
    '(required by /app/node_modules/uwebsockets/uws_linux_x64_127.node)',
);

test('a glibc too old for the binary: Node version, glibc needed and found, loader line, other engine', () => {
  const m = uwsLoadFailureMessage(glibcError, node22);
  assert.match(m, /Node 22\.23\.5 \(ABI 127\)/);
  assert.match(m, /needs glibc 2\.38/);
  assert.match(m, /this system has glibc 2\.36/);
  assert.match(m, /--http-engine node/);
  assert.match(m, /loader: Error: \/lib\/x86_64-linux-gnu\/libc\.so\.6: version `GLIBC_2\.38' not found/);
  assert.doesNotMatch(m, /supports only Node\.js versions/, 'the loader line, not uws.js generic sentence');
});

test('no binary at all for the ABI: says so, still names --http-engine node', () => {
  const err = new Error(
    "This version of uWS.js supports only ...\n\nError: Cannot find module './uws_linux_x64_999.node'",
  );
  const m = uwsLoadFailureMessage(err, { ...node22, node: '99.0.0', abi: '999', glibc: undefined });
  assert.match(m, /no binary that loads here/);
  assert.match(m, /Cannot find module/);
  assert.match(m, /--http-engine node/);
  assert.doesNotMatch(m, /glibc/);
});
