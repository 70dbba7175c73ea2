// Drives scripts/lib/ntlm_initiator.py: live NTLM initiator contexts (raw and inside SPNEGO),
// many at once in one Python process, each named by an integer id.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./ntlm_initiator.py', import.meta.url));
/** Debian's python3-gssapi belongs to /usr/bin/python3, not to a python3 earlier on PATH. */
export const PYTHON = '/usr/bin/python3';

export class NtlmInitiators {
  /** @type {import('node:child_process').ChildProcessWithoutNullStreams} */
  #child;
  /** @type {Map<number, (v: Record<string, unknown>) => void>} */
  #pending = new Map();
  #nextId = 1;
  /** @type {string | undefined} */
  #exited;

  /**
   * @param {Record<string, string>} realmEnv the realm's env(): NEGOTIATE_NTLM_USER and
   *   NEGOTIATE_PASSWORD reach Python through the environment only.
   * @param {string} [service]
   */
  constructor(realmEnv, service = 'host@localhost') {
    this.#child = spawn(PYTHON, [SCRIPT, service], {
      env: { ...process.env, ...realmEnv },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    this.#child.stderr.setEncoding('utf8').on('data', (d) => {
      stderr = (stderr + d).slice(-4096);
    });
    createInterface({ input: this.#child.stdout }).on('line', (l) => {
      const r = JSON.parse(l);
      const p = this.#pending.get(r.id);
      this.#pending.delete(r.id);
      p?.(r);
    });
    this.#child.once('exit', (code, signal) => {
      this.#exited = `ntlm_initiator.py exited (${signal ?? code}): ${stderr.trim()}`;
      for (const p of this.#pending.values()) p({ error: this.#exited });
      this.#pending.clear();
    });
  }

  /** A fresh context id. */
  newContext() {
    return this.#nextId++;
  }

  /**
   * @param {Record<string, unknown>} req
   * @returns {Promise<Record<string, unknown>>}
   */
  async #call(req) {
    if (this.#exited) throw new Error(this.#exited);
    const r = await new Promise((resolve) => {
      this.#pending.set(/** @type {number} */ (req.id), resolve);
      this.#child.stdin.write(JSON.stringify(req) + '\n');
    });
    if (typeof r.error === 'string') throw new Error(`NTLM initiator: ${r.error}`);
    return r;
  }

  /**
   * One init_sec_context leg.
   * @param {number} id
   * @param {'ntlm' | 'spnego-ntlm'} mech
   * @param {Uint8Array} [input]
   * @returns {Promise<{ token: Buffer, complete: boolean }>}
   */
  async step(id, mech, input) {
    const r = await this.#call({ op: 'step', id, mech, token: input ? Buffer.from(input).toString('base64') : '' });
    return { token: Buffer.from(/** @type {string} */ (r.token), 'base64'), complete: r.complete === true };
  }

  /** @param {number} id @param {Uint8Array} message */
  async wrap(id, message) {
    const r = await this.#call({ op: 'wrap', id, message: Buffer.from(message).toString('base64') });
    return Buffer.from(/** @type {string} */ (r.token), 'base64');
  }

  /** Rejects unless `mic` is a valid MIC of `message` under context `id`. */
  async verifyMic(/** @type {number} */ id, /** @type {Uint8Array} */ message, /** @type {Uint8Array} */ mic) {
    await this.#call({
      op: 'verify_mic',
      id,
      message: Buffer.from(message).toString('base64'),
      mic: Buffer.from(mic).toString('base64'),
    });
  }

  /** Forgets context `id` (never fails). */
  async close(/** @type {number} */ id) {
    await this.#call({ op: 'close', id }).catch(() => undefined);
  }

  /** Ends the Python process (by its own PID). */
  stop() {
    this.#child.stdin.end();
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill();
  }
}
