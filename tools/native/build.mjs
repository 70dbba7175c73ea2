// Builds the C GSSAPI helpers (accept_loop, live_client) into tools/native/build/. (Tokens come
// from tokengen, built with the addon: tools/tokens.mjs.)
// A binary is rebuilt only when its source (or this script) is newer, so every bench run
// can call ensureNativeBuilt() cheaply. Run directly: `node tools/native/build.mjs`.
import { execFileSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
export const buildDir = join(here, 'build');

/** @type {Record<string, { src: string, extra: string[] }>} */
const programs = {
  accept_loop: { src: 'accept_loop.c', extra: ['-pthread'] },
  live_client: { src: 'live_client.c', extra: ['-pthread'] },
};

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

let flagsCache;
function krbFlags() {
  // krb5 for the krb5_* calls (ccache copy, the kept-open context), krb5-gssapi for GSS.
  flagsCache ??= execFileSync('pkg-config', ['--cflags', '--libs', 'krb5-gssapi', 'krb5'], { encoding: 'utf8' })
    .trim()
    .split(/\s+/);
  return flagsCache;
}

/**
 * Compiles `name` if needed and returns the binary's path.
 * @param {'accept_loop'|'live_client'} name
 * @returns {string}
 */
export function ensureBuilt(name) {
  const p = programs[name];
  if (!p) throw new Error(`unknown native program ${name}`);
  const src = join(here, p.src);
  const out = join(buildDir, name);
  const stamp = mtime(out);
  const inputs = [src, join(here, 'gss_common.h'), fileURLToPath(import.meta.url)];
  if (stamp >= 0 && inputs.every((f) => stamp >= mtime(f))) return out;
  mkdirSync(buildDir, { recursive: true });
  const cc = process.env.CC || 'cc';
  // Compile to a private name, then rename: a concurrent bench process never runs (or
  // overwrites) a half-written binary.
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    execFileSync(cc, ['-O2', '-Wall', '-Wextra', ...p.extra, '-o', tmp, src, ...krbFlags()], {
      stdio: ['ignore', 'inherit', 'pipe'],
    });
    renameSync(tmp, out);
  } catch (err) {
    rmSync(tmp, { force: true });
    const stderr = err.stderr ? String(err.stderr) : '';
    throw new Error(`building ${name} failed (need a C compiler and libkrb5-dev): ${stderr || err.message}`, {
      cause: err,
    });
  }
  return out;
}

/** Builds every helper; returns { name: path }. */
export function ensureNativeBuilt() {
  return Object.fromEntries(
    Object.keys(programs).map((n) => [n, ensureBuilt(/** @type {'accept_loop'|'live_client'} */ (n))]),
  );
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  console.log(JSON.stringify(ensureNativeBuilt()));
}
