/**
 * Drives test/fixtures/initiator.py, a real python3-gssapi initiator, one JSON line per call.
 */
import { spawn, execFile, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface, type Interface } from 'node:readline';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ThrowawayRealm } from '../../src/realm/index.js';
import { PYTHON } from './server.js';

/** The fixture lives in the source tree (tests run from dist/test/support). */
export const FIXTURES = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'test',
  'fixtures',
);

export type InitiatorMech = 'krb5' | 'spnego' | 'ntlm' | 'spnego-ntlm';

export interface InitiatorOptions {
  mech: InitiatorMech;
  service?: string;
  noMutual?: boolean;
  /** Bind every context to this channel-binding application data (e.g. tlsServerEndPoint(cert)). */
  channelBindings?: Uint8Array;
}

function fixtureArgs(realm: ThrowawayRealm, o: InitiatorOptions): string[] {
  const args = [path.join(FIXTURES, 'initiator.py'), '--mech', o.mech, '--service', o.service ?? 'host@localhost'];
  if (o.mech === 'ntlm' || o.mech === 'spnego-ntlm')
    args.push(`--user=${realm.ntlmUser}`, `--password=${realm.password}`);
  if (o.noMutual) args.push('--no-mutual');
  if (o.channelBindings) args.push('--channel-bindings', Buffer.from(o.channelBindings).toString('hex'));
  return args;
}

/** N independent first tokens (fresh AP-REQs for Kerberos). */
export function firstTokens(realm: ThrowawayRealm, o: InitiatorOptions, n: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    execFile(
      PYTHON,
      [...fixtureArgs(realm, o), '--tokens', String(n)],
      { env: { ...process.env, ...realm.env() }, timeout: 60_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`initiator.py failed: ${stderr}`));
        resolve(
          stdout
            .trim()
            .split('\n')
            .map((l) => Buffer.from(l, 'base64')),
        );
      },
    );
  });
}

export class Initiator {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #lines: Interface;
  readonly #pending: Array<(v: Record<string, string | boolean>) => void> = [];

  private constructor(child: ChildProcessWithoutNullStreams) {
    this.#child = child;
    this.#lines = createInterface({ input: child.stdout });
    this.#lines.on('line', (l) => this.#pending.shift()?.(JSON.parse(l) as Record<string, string | boolean>));
    // A dead initiator answers every pending and later call with an error, never silence.
    child.once('exit', (code) => {
      this.#exited = `initiator.py exited with ${code}`;
      for (const p of this.#pending.splice(0)) p({ error: this.#exited });
    });
  }

  #exited: string | undefined;

  static start(realm: ThrowawayRealm, o: InitiatorOptions): Initiator {
    const child = spawn(PYTHON, fixtureArgs(realm, o), { env: { ...process.env, ...realm.env() } });
    child.stderr.on('data', (d: Buffer) => process.stderr.write(`initiator.py: ${d.toString()}`));
    return new Initiator(child);
  }

  async #call(req: Record<string, unknown>): Promise<Record<string, string | boolean>> {
    if (this.#exited) throw new Error(this.#exited);
    const p = new Promise<Record<string, string | boolean>>((resolve) => this.#pending.push(resolve));
    this.#child.stdin.write(JSON.stringify(req) + '\n');
    const r = await p;
    if (typeof r['error'] === 'string') throw new Error(`initiator: ${r['error']}`);
    return r;
  }

  /** One init_sec_context leg; `input` is the acceptor's last token (none for the first leg). */
  async step(input?: Uint8Array): Promise<{ token: Buffer; complete: boolean }> {
    const r = await this.#call({ op: 'step', token: input ? Buffer.from(input).toString('base64') : '' });
    return { token: Buffer.from(r['token'] as string, 'base64'), complete: r['complete'] === true };
  }

  async wrap(message: Uint8Array, conf = true): Promise<Buffer> {
    const r = await this.#call({ op: 'wrap', message: Buffer.from(message).toString('base64'), conf });
    return Buffer.from(r['token'] as string, 'base64');
  }

  async unwrap(token: Uint8Array): Promise<{ message: Buffer; conf: boolean }> {
    const r = await this.#call({ op: 'unwrap', token: Buffer.from(token).toString('base64') });
    return { message: Buffer.from(r['message'] as string, 'base64'), conf: r['conf'] === true };
  }

  async getMic(message: Uint8Array): Promise<Buffer> {
    const r = await this.#call({ op: 'get_mic', message: Buffer.from(message).toString('base64') });
    return Buffer.from(r['mic'] as string, 'base64');
  }

  async verifyMic(message: Uint8Array, mic: Uint8Array): Promise<void> {
    await this.#call({
      op: 'verify_mic',
      message: Buffer.from(message).toString('base64'),
      mic: Buffer.from(mic).toString('base64'),
    });
  }

  close(): void {
    this.#child.stdin.end();
    this.#child.kill();
  }
}
