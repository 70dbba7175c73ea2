// Pre-generated Kerberos initiator tokens, for the bench's load generators and the soak's clients.
//
// Each token is the first token of its own gss_init_sec_context (mutual, replay, integ and
// conf requested) from alice's ccache, made by tokengen (native/src/tokengen/tokengen.c, built
// with the addon into build/Release/tokengen; `negotiate-server loadgen` uses it too) through
// its `n COUNT` requests: a fresh authenticator per token, so every token is distinct and
// usable exactly once against a replay cache (a second use is a replay and must fail). Tokens
// carry a timestamp: use them within the realm's clock skew (5 minutes), i.e. generate right
// before each timed phase.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TOKENGEN = join(dirname(fileURLToPath(import.meta.url)), '..', 'build', 'Release', 'tokengen');
// Tokens asked for per request: tokengen holds a request's answer in memory until it is all
// made (~1 KiB of base64 a token), so a big count goes as several requests, one at a time.
const REQUEST_TOKENS = 5000;

/**
 * @param {{ env: Record<string,string|undefined>|string, mech?: 'spnego'|'krb5', service?:
 *   'HTTP@localhost'|'host@localhost'|string, count: number, parallel?: number }} opts
 *   env: must carry KRB5CCNAME (alice's TGT) and KRB5_CONFIG; an object, or the path of the
 *   realm's `env` file.
 *   parallel: generator processes (default: up to 2 for large counts; ~75 µs of CPU a token).
 * @returns {Promise<Buffer[]>}
 */
export async function generateTokens({ env, mech = 'spnego', service = 'HTTP@localhost', count, parallel }) {
  if (!Number.isInteger(count) || count < 0 || count > 5_000_000) throw new Error(`bad token count ${count}`);
  if (mech !== 'spnego' && mech !== 'krb5') throw new Error(`bad mech ${mech}`);
  if (!/^[A-Za-z0-9._-]+@[A-Za-z0-9._-]+$/.test(service)) throw new Error(`bad service ${service}`);
  if (count === 0) return [];
  env = loadEnv(env);
  if (!env?.KRB5CCNAME || !env?.KRB5_CONFIG) throw new Error('generateTokens: env needs KRB5CCNAME and KRB5_CONFIG');
  if (!existsSync(TOKENGEN)) throw new Error(`${TOKENGEN} is missing: build it with npm run build:native`);
  // A second process pays one extra TGS exchange; only worth it for big batches.
  const procs = Math.max(1, Math.min(parallel ?? (count >= 20_000 ? Math.min(2, cpus().length) : 1), count));
  const shares = Array.from({ length: procs }, (_, i) => Math.floor(count / procs) + (i < count % procs ? 1 : 0));
  const parts = await Promise.all(shares.map((n) => runGenerator({ ...process.env, ...env }, mech, service, n)));
  const tokens = parts.flat();
  if (tokens.length !== count) throw new Error(`tokengen produced ${tokens.length} of ${count} tokens`);
  assertDistinct(tokens);
  return tokens;
}

/**
 * One tokengen process: waits for its `ready` line, asks for `count` tokens in requests of at
 * most REQUEST_TOKENS, then ends its input. Bounded in time; a `! reason` line fails it.
 */
function runGenerator(env, mech, service, count) {
  return new Promise((resolve, reject) => {
    const child = spawn(TOKENGEN, ['--service', service, '--mech', mech], {
      env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    // Bounded: ~13,000 tokens/s on one core; allow a slow, noisy machine 1,000/s.
    const timeoutMs = 15_000 + count;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    /** @type {Buffer[]} */
    const tokens = [];
    let ready = false;
    let asked = 0;
    /** @type {number[]} token counts at which a request's answer ends, oldest first */
    const ends = [];
    let partial = '';
    let failure = '';
    let err = '';
    const ask = () => {
      const n = Math.min(REQUEST_TOKENS, count - asked);
      if (n === 0) {
        if (ends.length === 0) child.stdin.end();
        return;
      }
      asked += n;
      ends.push(asked);
      child.stdin.write(`n ${n}\n`);
    };
    const onLine = (line) => {
      if (!ready) {
        if (line === 'ready') {
          ready = true;
          // Two requests in flight, so tokengen is not left idle while this side reads a batch.
          ask();
          ask();
        } else failure ||= line.startsWith('! ') ? line.slice(2) : `unexpected first line ${JSON.stringify(line)}`;
        return;
      }
      if (line.startsWith('! ')) {
        failure ||= line.slice(2);
        child.stdin.end();
        return;
      }
      tokens.push(Buffer.from(line, 'base64'));
      // The last token of a request: ask for the next (or, after the last, end the input).
      if (tokens.length === ends[0]) {
        ends.shift();
        ask();
      }
    };
    // A write after tokengen died must not crash the process; 'close' reports it.
    child.stdin.on('error', () => undefined);
    child.stdout.setEncoding('latin1');
    child.stdout.on('data', (chunk) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) onLine(line);
    });
    child.stderr.on('data', (c) => {
      if (err.length < 4096) err += c;
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0 || failure || tokens.length !== count) {
        const why = failure || err.trim() || `${tokens.length} of ${count} tokens`;
        reject(
          new Error(
            `tokengen failed (${signal ?? code}${signal === 'SIGKILL' ? `, timeout ${timeoutMs} ms` : ''}): ${why}`,
          ),
        );
        return;
      }
      resolve(tokens);
    });
  });
}

/**
 * Encodes tokens as [u32 LE len][token] records (accept_loop's input).
 * @param {Buffer[]} tokens
 * @returns {Buffer}
 */
export function encodeRecords(tokens) {
  let total = 0;
  for (const t of tokens) total += 4 + t.length;
  const out = Buffer.allocUnsafe(total);
  let off = 0;
  for (const t of tokens) {
    out.writeUInt32LE(t.length, off);
    t.copy(out, off + 4);
    off += 4 + t.length;
  }
  return out;
}

// A duplicate would be a replay and silently skew error counts: fail loudly instead.
function assertDistinct(tokens) {
  const seen = new Set();
  for (const t of tokens) seen.add(createHash('sha1').update(t).digest('base64'));
  if (seen.size !== tokens.length) throw new Error(`tokengen produced ${tokens.length - seen.size} duplicate tokens`);
}

const KRB5_OID = Buffer.from('06092a864886f712010202', 'hex');

/**
 * Is an acceptor's reply token a successful mutual-authentication reply? True for a
 * GSS-framed krb5 AP-REP (TOK_ID 02 00) and for a SPNEGO NegTokenResp with negState
 * accept-completed carrying one. A non-empty reply is NOT enough: on a replay or any other
 * accept failure MIT sends a KRB-ERROR token (TOK_ID 03 00; in SPNEGO, negState reject
 * wrapping it), and gss-server forwards it as an ordinary context frame.
 * @param {Buffer} tok
 * @returns {boolean}
 */
export function isApRep(tok) {
  if (tok.length === 0) return false;
  if (tok[0] === 0x60) return isKrb5ApRep(tok);
  if (tok[0] !== 0xa1) return false;
  // NegTokenResp ::= [1] SEQUENCE { negState [0] ENUMERATED, supportedMech [1], responseToken [2] OCTET STRING,
  // mechListMIC [3] }
  const outer = der(tok, 0);
  if (!outer) return false;
  const seq = der(tok, outer.start);
  if (!seq || tok[outer.start] !== 0x30) return false;
  let negState = -1;
  let response;
  for (let off = seq.start; off < seq.end;) {
    const f = der(tok, off);
    if (!f || f.end > seq.end) return false;
    const inner = der(tok, f.start);
    if (!inner) return false;
    if (tok[off] === 0xa0 && tok[f.start] === 0x0a && inner.end - inner.start === 1) negState = tok[inner.start];
    if (tok[off] === 0xa2 && tok[f.start] === 0x04) response = tok.subarray(inner.start, inner.end);
    off = f.end;
  }
  return negState === 0 && response !== undefined && isKrb5ApRep(response);
}

function isKrb5ApRep(tok) {
  const t = der(tok, 0);
  if (!t || tok[0] !== 0x60) return false;
  const o = t.start;
  return (
    tok.subarray(o, o + KRB5_OID.length).equals(KRB5_OID) &&
    tok[o + 11] === 0x02 &&
    tok[o + 12] === 0x00 &&
    tok[o + 13] === 0x6f
  );
}

/** DER header at `off`: { start of content, end of element }, or undefined if malformed. */
function der(buf, off) {
  if (off + 2 > buf.length) return undefined;
  let len = buf[off + 1];
  let start = off + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n < 1 || n > 3 || start + n > buf.length) return undefined;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[start + i];
    start += n;
  }
  const end = start + len;
  return end > buf.length ? undefined : { start, end };
}

/**
 * The realm's variables: an object as given, or parsed from its `env` file (`export K='V'`).
 * @param {Record<string,string|undefined>|string} env
 * @returns {Record<string,string|undefined>}
 */
export function loadEnv(env) {
  if (typeof env !== 'string') return { ...env };
  /** @type {Record<string,string>} */
  const out = {};
  for (const m of readFileSync(env, 'utf8').matchAll(/^export (\w+)='([^']*)'$/gm)) out[m[1]] = m[2];
  return out;
}
