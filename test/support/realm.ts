/**
 * Realm lifecycle for tests: a fresh throwaway realm per call, and tool checks that fail loudly.
 * Tests must fail, not skip, when a Kerberos component is missing, so a CI image without
 * krb5-kdc cannot report green.
 */
import { constants as fsConstants, accessSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

import { ThrowawayRealm, type RealmOptions } from '../../src/realm/index.js';

/**
 * Throws `Error("<name> not found: install it with: apt-get install -y <aptPackage>")` unless
 * an executable `name` is on PATH or in an sbin directory. Returns its absolute path.
 */
export function requireTool(name: string, aptPackage: string): string {
  const dirs = [...(process.env['PATH'] ?? '').split(path.delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const dir of dirs.filter((d) => path.isAbsolute(d))) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  throw new Error(`${name} not found: install it with: apt-get install -y ${aptPackage}`);
}

/**
 * Creates a realm in a new `os.tmpdir()/negotiate-test-*` directory. The caller owns it and
 * must `destroy()` it (in `after()`); if creation fails the directory is removed here.
 */
export async function startTestRealm(opts: Omit<RealmOptions, 'dir'> = {}): Promise<ThrowawayRealm> {
  requireTool('krb5kdc', 'krb5-kdc');
  requireTool('kdb5_util', 'krb5-kdc');
  requireTool('kadmin.local', 'krb5-admin-server');
  requireTool('kinit', 'krb5-user');
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'negotiate-test-'));
  try {
    return await ThrowawayRealm.create({ ...opts, dir });
  } catch (err) {
    // The error already carries the log tail; a failed realm is not worth keeping in /tmp.
    await fs.rm(dir, { recursive: true, force: true });
    throw err;
  }
}
