/**
 * Real initiator tokens made with a chosen credential cache, including one whose client clock
 * runs ahead of the KDC's: the only way to get a genuine out-of-skew AP-REQ without faking
 * the system clock.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

import type { ThrowawayRealm } from '../../src/realm/index.js';
import { FIXTURES, type InitiatorMech } from '../support/initiator.js';
import { PYTHON } from '../support/server.js';

/** `n` independent first tokens from test/fixtures/initiator.py, using the ccache at `ccache`. */
export function tokensFromCcache(realm: ThrowawayRealm, ccache: string, o: { mech: InitiatorMech; service?: string }, n: number): Promise<Buffer[]> {
  const args = [path.join(FIXTURES, 'initiator.py'), '--mech', o.mech, '--service', o.service ?? 'host@localhost', '--tokens', String(n)];
  const env = { ...process.env, ...realm.env(), KRB5CCNAME: `FILE:${ccache}` };
  return new Promise((resolve, reject) => {
    execFile(PYTHON, args, { env, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`initiator.py failed: ${stderr}`));
      resolve(stdout.trim().split('\n').map((l) => Buffer.from(l, 'base64')));
    });
  });
}

/** MIT FILE ccache v4 header: 05 04, u16 header length, then tags; tag 1 is the KDC time offset. */
const CCACHE_V4 = 0x0504;
const TAG_DELTATIME = 1;

/**
 * A copy of the realm's ccache whose client believes its clock is `offsetSeconds` off.
 *
 * MIT krb5 keeps a KDC time offset in the v4 FILE ccache header (the DeltaTime tag written by
 * kinit with `kdc_timesync`) and adds it to the clock when it builds an authenticator. The
 * service ticket for `service` is fetched first, with the true offset, so the skewed client
 * never has to talk to the KDC (which would re-synchronise it). A positive offset keeps the
 * ticket valid on the client side ("ticket not yet valid" is checked against the skewed
 * clock) while the acceptor sees an authenticator from the future.
 */
export async function skewedCcache(realm: ThrowawayRealm, service: string, offsetSeconds: number): Promise<string> {
  const ccache = path.join(realm.dir, `skewed-${offsetSeconds}-${process.pid}.ccache`);
  await fs.copyFile(realm.ccache, ccache);
  await tokensFromCcache(realm, ccache, { mech: 'krb5', service }, 1);
  await setClientClockOffset(ccache, offsetSeconds);
  return ccache;
}

/**
 * Rewrites the KDC time offset (DeltaTime) in the v4 FILE ccache at `ccache`: the client then
 * believes its clock is `offsetSeconds` off, for its authenticators and for checking its own
 * tickets' lifetimes.
 */
export async function setClientClockOffset(ccache: string, offsetSeconds: number): Promise<void> {
  const bytes = await fs.readFile(ccache);
  assert.equal(bytes.readUInt16BE(0), CCACHE_V4, 'a version 4 FILE ccache');
  const headerLength = bytes.readUInt16BE(2);
  let at = 4;
  let patched = false;
  while (at + 4 <= 4 + headerLength) {
    const tag = bytes.readUInt16BE(at);
    const length = bytes.readUInt16BE(at + 2);
    if (tag === TAG_DELTATIME && length === 8) {
      bytes.writeInt32BE(offsetSeconds, at + 4);
      bytes.writeInt32BE(0, at + 8);
      patched = true;
    }
    at += 4 + length;
  }
  assert.ok(patched, 'the ccache header carries a DeltaTime tag (kinit with kdc_timesync, the default)');
  await fs.writeFile(ccache, bytes, { mode: 0o600 });
}
