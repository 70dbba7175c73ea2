/**
 * The message of ERR_UWS_UNAVAILABLE: why uWebSockets.js did not load here, from the
 * loader's own error, and what to run instead. Pure, so that it is tested without a platform
 * where the binary fails.
 */

/** What the message names about this process. */
export interface UwsPlatform {
  readonly platform: string;
  readonly arch: string;
  readonly node: string;
  /** Node's ABI (process.versions.modules): uWS ships one binary per ABI. */
  readonly abi: string;
  /** The C library's version at run time (glibc), when known. */
  readonly glibc: string | undefined;
}

/** This process's platform; glibc from Node's diagnostic report header (Linux). */
export function currentUwsPlatform(): UwsPlatform {
  const report: unknown = process.report.getReport();
  const header = typeof report === 'object' && report !== null && 'header' in report ? report.header : undefined;
  const glibc =
    typeof header === 'object' && header !== null && 'glibcVersionRuntime' in header
      ? String(header.glibcVersionRuntime)
      : undefined;
  return {
    platform: process.platform,
    arch: process.arch,
    node: process.versions.node,
    abi: process.versions.modules,
    glibc,
  };
}

/** The loader's own line, e.g. `...libc.so.6: version `GLIBC_2.38' not found (required by ...node)`. */
function loaderLine(err: unknown): string {
  const lines = String(err)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  // uws.js wraps the loader's error after its own generic sentence: keep the loader's.
  return (
    lines.find((l) => /not found|cannot open|No such file|Cannot find module|invalid ELF/i.test(l)) ??
    lines.at(-1) ??
    ''
  );
}

/** The message for a uWS binary that did not load (`err` as thrown by `require('uwebsockets')`). */
export function uwsLoadFailureMessage(err: unknown, p: UwsPlatform): string {
  const line = loaderLine(err);
  const where = `${p.platform}-${p.arch}, Node ${p.node} (ABI ${p.abi})`;
  const glibc = /GLIBC_([0-9.]+)'? not found/.exec(line);
  const why =
    glibc !== null
      ? `its binary for this Node needs glibc ${glibc[1] ?? '?'} (symbol version GLIBC_${glibc[1] ?? '?'} not found)` +
        `${p.glibc !== undefined ? `, and this system has glibc ${p.glibc}` : ''}`
      : 'it has no binary that loads here';
  return (
    `uWebSockets.js cannot load on ${where}: ${why}. The uWS HTTP engine and the WebSocket front end cannot ` +
    `start. Use --http-engine node (HTTP on node:http), or Node 20, or serve TCP only. (loader: ${line})`
  );
}
