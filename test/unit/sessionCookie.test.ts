/**
 * SessionCookies: HMAC-signed expiring cookies. Everything that is not a cookie we signed and
 * that has not expired must come back as `{ ok: false, reason }`, never throw, never verify.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { ConfigError } from '../../src/errors.js';
import { MAX_COOKIE_CHARS, SessionCookies, type CookieVerification } from '../../src/http/sessionCookie.js';
import { flagsFromBits } from '../../src/native.js';

const flags = flagsFromBits(2 | 4 | 8 | 16 | 32);
const alice = { principal: 'alice@KRBTEST.COM', mech: 'krb5' as const, spnego: true, flags };

function clock(start = 1_700_000_000_000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => (t += ms) };
}

function refused(r: CookieVerification | undefined, reason?: RegExp): void {
  assert.ok(r !== undefined, 'expected a verification result');
  assert.equal(r.ok, false, 'expected the cookie to be refused');
  if (reason && !r.ok) assert.match(r.reason, reason);
}

/** Flips one bit of character `i` inside the base64url alphabet. */
function flipChar(s: string, i: number): string {
  const c = s[i] ?? 'A';
  const alt = c === 'A' ? 'B' : 'A';
  return s.slice(0, i) + alt + s.slice(i + 1);
}

test('issue then verify round-trips the identity', () => {
  const c = clock();
  const cookies = new SessionCookies({ keys: [randomBytes(32)], ttlSeconds: 600, now: c.now });
  const { value, expiresAt, setCookie } = cookies.issue(alice);
  assert.equal(expiresAt, Math.floor(c.now() / 1000) * 1000 + 600_000);
  assert.match(value, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
  const r = cookies.verify(value);
  assert.ok(r.ok);
  assert.equal(r.session.principal, alice.principal);
  assert.equal(r.session.mech, 'krb5');
  assert.equal(r.session.spnego, true);
  assert.deepEqual(r.session.flags, flags);
  assert.equal(r.session.expiresAt, expiresAt);
  assert.equal(setCookie, `negotiate_session=${value}; Max-Age=600; Path=/; HttpOnly; SameSite=Lax`);
});

test('the payload is readable JSON but not encrypted', () => {
  const cookies = new SessionCookies({ keys: [randomBytes(32)] });
  const [payload] = cookies.issue(alice).value.split('.');
  const data = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as Record<string, unknown>;
  assert.equal(data['p'], alice.principal);
  assert.equal(data['v'], 1);
});

test('expiry never exceeds notAfter (the ticket end)', () => {
  const c = clock();
  const cookies = new SessionCookies({ keys: [randomBytes(32)], ttlSeconds: 3600, now: c.now });
  const { expiresAt, setCookie } = cookies.issue({ ...alice, notAfter: c.now() + 120_000 });
  assert.equal(expiresAt, Math.floor((c.now() + 120_000) / 1000) * 1000);
  assert.match(setCookie, /Max-Age=120;/);
});

test('a cookie lives at least ttlSeconds, whatever the millisecond it is issued at', () => {
  const c = clock(1_700_000_000_999);
  const cookies = new SessionCookies({ keys: [randomBytes(32)], ttlSeconds: 1, now: c.now });
  const { value, expiresAt, setCookie } = cookies.issue(alice);
  assert.equal(expiresAt, 1_700_000_002_000);
  assert.match(setCookie, /Max-Age=1;/);
  c.advance(1000);
  assert.ok(cookies.verify(value).ok);
  c.advance(1);
  refused(cookies.verify(value), /expired/);
});

test('expired cookies are refused (injected clock)', () => {
  const c = clock();
  const cookies = new SessionCookies({ keys: [randomBytes(32)], ttlSeconds: 10, now: c.now });
  const { value } = cookies.issue(alice);
  c.advance(9_000);
  assert.ok(cookies.verify(value).ok);
  c.advance(1_000);
  refused(cookies.verify(value), /expired/);
});

test('a cookie issued in the future is refused', () => {
  const c = clock();
  const key = randomBytes(32);
  const future = new SessionCookies({ keys: [key], now: () => c.now() + 3_600_000 });
  const cookies = new SessionCookies({ keys: [key], now: c.now });
  refused(cookies.verify(future.issue(alice).value), /future/);
});

test('tampering with the payload or the MAC is detected', () => {
  const cookies = new SessionCookies({ keys: [randomBytes(32)] });
  const { value } = cookies.issue(alice);
  const [payload = '', mac = ''] = value.split('.');
  for (let i = 0; i < payload.length; i += 7)
    refused(cookies.verify(`${flipChar(payload, i)}.${mac}`), /MAC|malformed/);
  for (let i = 0; i < mac.length; i += 5) refused(cookies.verify(`${payload}.${flipChar(mac, i)}`), /MAC/);
  // The last character carries unused bits: a variant decoding to the same MAC is still refused.
  const last = mac.length - 1;
  for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef') {
    if (c !== mac[last]) refused(cookies.verify(`${payload}.${mac.slice(0, last)}${c}`), /MAC/);
  }
  // A forged payload naming someone else, with the original MAC.
  const forged = Buffer.from(Buffer.from(payload, 'base64url').toString().replace('alice', 'admin')).toString(
    'base64url',
  );
  refused(cookies.verify(`${forged}.${mac}`), /MAC/);
});

test('truncated cookies are refused', () => {
  const cookies = new SessionCookies({ keys: [randomBytes(32)] });
  const { value } = cookies.issue(alice);
  for (const cut of [1, 2, 10, 43, 44, value.length - 1]) refused(cookies.verify(value.slice(0, value.length - cut)));
  refused(cookies.verify(value.slice(1)));
  refused(cookies.verify(''));
});

test('a cookie signed with another key is refused', () => {
  const a = new SessionCookies({ keys: [randomBytes(32)] });
  const b = new SessionCookies({ keys: [randomBytes(32)] });
  refused(b.verify(a.issue(alice).value), /MAC/);
});

test('rotation: the first key signs, every key verifies', () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(48);
  const before = new SessionCookies({ keys: [oldKey] });
  const during = new SessionCookies({ keys: [newKey, oldKey] });
  const after = new SessionCookies({ keys: [newKey] });
  const oldCookie = before.issue(alice).value;
  const newCookie = during.issue(alice).value;
  assert.ok(during.verify(oldCookie).ok, 'old cookies still verify while the old key is listed');
  assert.ok(during.verify(newCookie).ok);
  assert.ok(after.verify(newCookie).ok, 'new cookies are signed with the new (first) key');
  refused(after.verify(oldCookie), /MAC/);
  refused(before.verify(newCookie), /MAC/);
});

test('oversized cookies are refused unread', () => {
  const cookies = new SessionCookies({ keys: [randomBytes(32)] });
  const { value } = cookies.issue(alice);
  refused(cookies.verify(value + 'A'.repeat(MAX_COOKIE_CHARS)), /longer than/);
  refused(cookies.verify('A'.repeat(1_000_000)), /longer than/);
});

test('garbage never throws and never verifies', () => {
  const cookies = new SessionCookies({ keys: [randomBytes(32)] });
  const samples = [
    '.',
    '..',
    'a.b.c',
    'abc',
    '.abc',
    'abc.',
    '%%%.%%%',
    'e30.' + 'A'.repeat(43),
    '\u0000.\u0000',
    '{"v":1}',
    'a b.c d',
  ];
  for (let i = 0; i < 200; i++) samples.push(randomBytes(1 + (i % 120)).toString(i % 2 ? 'base64url' : 'latin1'));
  for (const s of samples) refused(cookies.verify(s));
});

test('a correctly signed payload with bad fields is refused', () => {
  // Reach the field checks by signing arbitrary payloads with the real MAC construction.
  const key = randomBytes(32);
  const cookies = new SessionCookies({ keys: [key] });
  const sign = (json: string): string => {
    const p = Buffer.from(json).toString('base64url');
    return `${p}.${createHmac('sha256', key).update('negotiate-session.v1.').update(p).digest('base64url')}`;
  };
  const exp = Math.floor(Date.now() / 1000) + 100;
  const iat = exp - 200;
  assert.ok(
    cookies.verify(sign(JSON.stringify({ v: 1, p: 'a@B', m: 'krb5', s: true, f: 2, iat, exp }))).ok,
    'the construction matches',
  );
  for (const bad of [
    'not json',
    'null',
    '[]',
    JSON.stringify({ v: 2, p: 'a@B', m: 'krb5', s: true, f: 2, iat, exp }),
    JSON.stringify({ v: 1, p: '', m: 'krb5', s: true, f: 2, iat, exp }),
    JSON.stringify({ v: 1, p: 'a@B', m: 'digest', s: true, f: 2, iat, exp }),
    JSON.stringify({ v: 1, p: 'a@B', m: 'krb5', s: 'yes', f: 2, iat, exp }),
    JSON.stringify({ v: 1, p: 'a@B', m: 'krb5', s: true, f: -1, iat, exp }),
    JSON.stringify({ v: 1, p: 'a@B', m: 'krb5', s: true, f: 2, iat, exp: String(exp) }),
  ]) {
    refused(cookies.verify(sign(bad)), /malformed/);
  }
});

test('fromCookieHeader finds the named cookie among others', () => {
  const cookies = new SessionCookies({ keys: [randomBytes(32)], name: 'sid' });
  const { value } = cookies.issue(alice);
  assert.equal(cookies.fromCookieHeader(''), undefined);
  assert.equal(cookies.fromCookieHeader(undefined), undefined);
  assert.equal(cookies.fromCookieHeader('other=1; sidx=2'), undefined);
  const r = cookies.fromCookieHeader(`theme=dark; sid=${value}; lang=en`);
  assert.ok(r?.ok);
  // An injected bad copy first does not hide the good one.
  assert.ok(cookies.fromCookieHeader(`sid=forged.AAAA; sid=${value}`)?.ok);
  refused(cookies.fromCookieHeader('sid=forged.AAAA'));
});

test('Set-Cookie attributes: Secure only when asked, SameSite Strict configurable', () => {
  const plain = new SessionCookies({ keys: [randomBytes(32)] });
  assert.doesNotMatch(plain.issue(alice).setCookie, /Secure/);
  const strict = new SessionCookies({ keys: [randomBytes(32)], secure: true, sameSite: 'Strict', name: 'n' });
  const h = strict.issue(alice).setCookie;
  assert.match(h, /^n=[^;]+; Max-Age=3600; Path=\/; HttpOnly; SameSite=Strict; Secure$/);
  assert.equal(strict.clearCookieHeader(), 'n=; Max-Age=0; Path=/; HttpOnly; SameSite=Strict; Secure');
});

test('configuration is validated', () => {
  assert.throws(
    () => new SessionCookies({ keys: [randomBytes(31)] }),
    (e: unknown) => e instanceof ConfigError && e.code === 'ERR_CONFIG' && /32 random bytes/.test(e.message),
  );
  assert.throws(() => new SessionCookies({ keys: [randomBytes(32), Buffer.from('short')] }), /key #2/);
  assert.throws(() => new SessionCookies({ ttlSeconds: 0 }), ConfigError);
  assert.throws(() => new SessionCookies({ ttlSeconds: 1.5 }), ConfigError);
  assert.throws(() => new SessionCookies({ name: 'bad name' }), ConfigError);
  assert.throws(() => new SessionCookies({ name: 'a;b' }), ConfigError);
});

test('without keys a random key is generated per instance (sessions end at restart)', () => {
  const a = new SessionCookies();
  const b = new SessionCookies({ keys: [] });
  assert.equal(a.generatedKey, true);
  assert.equal(b.generatedKey, true);
  assert.ok(a.verify(a.issue(alice).value).ok);
  refused(b.verify(a.issue(alice).value), /MAC/);
});

test('keys are copied: zeroing the caller buffer changes nothing', () => {
  const key = randomBytes(32);
  const cookies = new SessionCookies({ keys: [key] });
  const { value } = cookies.issue(alice);
  key.fill(0);
  assert.ok(cookies.verify(value).ok);
});
