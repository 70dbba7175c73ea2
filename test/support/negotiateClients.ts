/**
 * The real clients the framework wrappers' tests (test/integration/{express,fastify,passport})
 * drive against an app on node:http: curl --negotiate, the python3-gssapi client that verifies
 * the mutual-authentication token (test/fixtures/http_client.py), headless Chromium, and plain
 * node:http requests with any method and a body.
 *
 * Kerberos clients use the hostname `localhost` (SPN HTTP/localhost); apps listen on 127.0.0.1
 * and curl gets `--resolve localhost:PORT:127.0.0.1`.
 */
import http from 'node:http';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { FIXTURES } from './initiator.js';
import { requireTool } from './realm.js';
import { PYTHON, runClient } from './server.js';

const HTTP_CLIENT = path.join(FIXTURES, 'http_client.py');
const CHROMIUM = '/usr/bin/chromium';

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request on a fresh connection to 127.0.0.1, bounded at 10 s. */
export function request(
  port: number,
  method: string,
  urlPath: string,
  headers: Record<string, string> = {},
  body?: string,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: urlPath,
        headers: { Connection: 'close', ...headers },
        agent: false,
        timeout: 10_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(body);
  });
}

/** `Authorization: Negotiate <token>`. */
export function negotiateHeader(token: Uint8Array): Record<string, string> {
  return { Authorization: `Negotiate ${Buffer.from(token).toString('base64')}` };
}

export interface CurlAnswer {
  /** curl's exit code (0: the transfer worked, whatever the status). */
  code: number | null;
  status: number;
  body: string;
  /** The 200's block carried `WWW-Authenticate: Negotiate <token>` (the mutual-authentication token). */
  finalToken: boolean;
  stderr: string;
}

/**
 * curl --negotiate with the realm's ccache (or what `env` names instead, e.g. `KRB5CCNAME`); a
 * POST of `data` (text/plain) when given.
 */
export async function curlNegotiate(
  realm: ThrowawayRealm,
  port: number,
  urlPath: string,
  data?: string,
  env: Record<string, string> = {},
): Promise<CurlAnswer> {
  const curl = requireTool('curl', 'curl');
  const args = ['-sS', '-v', '--negotiate', '-u', ':', '--resolve', `localhost:${port}:127.0.0.1`];
  if (data !== undefined) args.push('-H', 'Content-Type: text/plain', '--data-binary', data);
  args.push('-w', '\n%{http_code}', `http://localhost:${port}${urlPath}`);
  const run = await runClient(curl, args, realm, 15_000, env);
  const cut = run.stdout.lastIndexOf('\n');
  // curl -v prints response headers as "< Name: value"; the last response is the 200's.
  const last = run.stderr.slice(run.stderr.lastIndexOf('< HTTP/1.1 '));
  return {
    code: run.code,
    status: Number(run.stdout.slice(cut + 1)),
    body: run.stdout.slice(0, cut),
    finalToken: /< WWW-Authenticate: Negotiate [A-Za-z0-9+/]+=*\r?\n/i.test(last),
    stderr: run.stderr,
  };
}

export interface PythonAnswer {
  /** The fixture's exit code: 0 only when the 200's final token completed a mutual context. */
  code: number | null;
  status?: number;
  mutual?: boolean;
  complete?: boolean;
  body?: unknown;
  error?: string;
}

/**
 * test/fixtures/http_client.py: SPNEGO with mutual authentication, the final token verified
 * (on the 200, or on `expectStatus`: an authorization refusal's 403 carries it too).
 * `delegate`: forward the TGT.
 */
export async function pythonNegotiate(
  realm: ThrowawayRealm,
  port: number,
  urlPath: string,
  data?: string,
  options: { expectStatus?: number; delegate?: boolean; https?: { channelBinding: 'right' | 'wrong' | 'none' } } = {},
): Promise<PythonAnswer> {
  const scheme = options.https === undefined ? 'http' : 'https';
  const args = [HTTP_CLIENT, `${scheme}://localhost:${port}${urlPath}`];
  // A throwaway self-signed certificate: not verified; the channel binding names what was served.
  if (options.https !== undefined) args.push('--insecure', '--channel-binding', options.https.channelBinding);
  if (data !== undefined) args.push('--method', 'POST', '--data', data);
  if (options.expectStatus !== undefined) args.push('--expect-status', String(options.expectStatus));
  if (options.delegate === true) args.push('--delegate');
  const run = await runClient(PYTHON, args, realm, 15_000);
  const line = run.stdout.trim().split('\n').at(-1) ?? '';
  let parsed: Omit<PythonAnswer, 'code'>;
  try {
    parsed = JSON.parse(line) as Omit<PythonAnswer, 'code'>;
  } catch {
    parsed = { error: `no JSON from http_client.py: ${run.stdout} ${run.stderr}` };
  }
  return { code: run.code, ...parsed };
}

/**
 * Headless Chromium (Debian's package, through playwright-core) doing SPNEGO for `localhost`
 * only, with the realm's ccache, or with exactly `env` (e.g. a ccache with no ticket).
 */
export async function launchChromium(from: ThrowawayRealm | { env: NodeJS.ProcessEnv }): Promise<Browser> {
  requireTool('chromium', 'chromium');
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    env: 'keytab' in from ? { ...process.env, ...from.env() } : from.env,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      // This machine has no network but loopback: keep Chromium from trying.
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--auth-server-allowlist=localhost',
    ],
    timeout: 30_000,
  });
}

export interface BrowserAnswer {
  get: { status: number; body: string };
  /** The POST, sent by fetch() from the page: Chromium answers the 401 and sends the body again. */
  post: { status: number; body: string } | undefined;
}

/**
 * Chromium loads `getPath` (authenticating with Negotiate), then, when `post` is given, POSTs
 * `post.body` to `post.path` with fetch() from that page.
 */
export async function chromiumNegotiate(
  browser: Browser,
  port: number,
  getPath: string,
  post?: { path: string; body: string },
): Promise<BrowserAnswer> {
  const page = await browser.newPage();
  try {
    // Known Chromium quirk: the first navigation of a fresh browser may answer the 401 without
    // trying Negotiate ("Unable to create AuthHandler"); the next one authenticates.
    let get = { status: 0, body: '' };
    for (let attempt = 0; attempt < 3 && get.status !== 200; attempt++) {
      const response = await page.goto(`http://localhost:${port}${getPath}`, { timeout: 15_000 });
      get = { status: response?.status() ?? 0, body: (await response?.text()) ?? '' };
    }
    if (post === undefined || get.status !== 200) return { get, post: undefined };
    const answer = await page.evaluate(
      async ({ url, body }) => {
        const r = await fetch(url, { method: 'POST', body, headers: { 'Content-Type': 'text/plain' } });
        return { status: r.status, body: await r.text() };
      },
      { url: `http://localhost:${port}${post.path}`, body: post.body },
    );
    return { get, post: answer };
  } finally {
    await page.close();
  }
}
