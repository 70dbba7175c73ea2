/**
 * The checks a delegation directory must pass before any user's credential is written to it,
 * and the removal of temporary files a crashed run left there.
 */
import * as fs from 'node:fs/promises';
import path from 'node:path';
import { ConfigError } from '../errors.js';

/** The prefix of the addon's temporary ccache files (native/src/identity/delegated_cred.cc). */
export const TEMP_PREFIX = '.deleg-';

/**
 * Refuses (ConfigError ERR_CONFIG) a directory that another local user could read or change:
 * it must exist, be a directory itself (not a symbolic link), be owned by this process's user,
 * and not be writable by its group or others, since whoever can write to it can swap a user's
 * ccache or read it through a link. Returns the absolute path.
 */
export async function checkDelegationDir(dir: string): Promise<string> {
  const abs = path.resolve(dir);
  let st;
  try {
    st = await fs.lstat(abs);
  } catch (err) {
    throw new ConfigError('ERR_CONFIG', `delegation directory ${abs} cannot be used: ${describe(err)}`, {
      cause: err,
    });
  }
  const fix = `(mkdir -m 700 ${abs}, as the user the server runs as)`;
  if (st.isSymbolicLink())
    throw new ConfigError('ERR_CONFIG', `delegation directory ${abs} is a symbolic link: give the real path`);
  if (!st.isDirectory()) throw new ConfigError('ERR_CONFIG', `delegation directory ${abs} is not a directory ${fix}`);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid)
    throw new ConfigError(
      'ERR_CONFIG',
      `delegation directory ${abs} is owned by uid ${st.uid}, not by this process (uid ${uid}) ${fix}`,
    );
  if ((st.mode & 0o022) !== 0) {
    const mode = (st.mode & 0o777).toString(8);
    throw new ConfigError(
      'ERR_CONFIG',
      `delegation directory ${abs} is writable by its group or by others (mode ${mode}): chmod 700 ${abs}`,
    );
  }
  return abs;
}

/** Removes the temporary files in `dir` (ccaches written but never named: a crash, a lost result). */
export async function removeTemporaryFiles(dir: string): Promise<number> {
  let removed = 0;
  for (const name of await fs.readdir(dir)) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    await fs.rm(path.join(dir, name), { force: true });
    removed++;
  }
  return removed;
}

function describe(err: unknown): string {
  const code: unknown = typeof err === 'object' && err !== null ? Reflect.get(err, 'code') : undefined;
  return code === 'ENOENT' ? 'it does not exist' : typeof code === 'string' ? code : String(err);
}
