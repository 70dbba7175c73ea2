/**
 * Fresh initiator tokens for the load generator, from the C program native/src/tokengen (built
 * with the addon into build/Release/tokengen), driven over its stdin/stdout line protocol
 * (described at the top of tokengen.c). Tokens are fetched in batches ahead of need, so a
 * handshake normally takes one from memory; a token kept for mutual verification is made on
 * demand and its context lives in the generator until `verify` or `drop`.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NegotiateError } from '../errors.js';

/** The generator could not start (no ticket, unknown service, not built) or died mid-run. */
export class TokenGeneratorError extends NegotiateError {
  override readonly name = 'TokenGeneratorError';
  constructor(message: string) {
    super('ERR_TOKEN_GENERATOR', message);
  }
}

/** Compiled to dist/src/loadgen/: the repository (or package) root is three levels up. */
export const TOKENGEN_PATH = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '..',
  '..',
  '..',
  'build',
  'Release',
  'tokengen',
);

export type TokenMech = 'spnego' | 'krb5';

/** What the generator reports about itself when its input ends. */
export interface TokenGeneratorUsage {
  /** The generator process's CPU time (user + system), seconds. */
  cpuSeconds: number;
  tokens: number;
}

type Waiter = { resolve: (token: string) => void; reject: (err: Error) => void };
type Request =
  | { kind: 'ready'; resolve: () => void; reject: (err: Error) => void }
  | { kind: 'batch'; remaining: number }
  | { kind: 'keep'; resolve: (kept: { id: number; token: string }) => void; reject: (err: Error) => void }
  | { kind: 'verify'; resolve: (failure: string | undefined) => void; reject: (err: Error) => void };

export class TokenGenerator {
  readonly #child: ChildProcessWithoutNullStreams;
  readonly #batch: number;
  /** Requests written and not yet answered, in order: the generator answers in order. */
  readonly #requests: Request[] = [];
  readonly #stock: string[] = [];
  readonly #waiters: Waiter[] = [];
  #inFlight = 0;
  #partial = '';
  #stderr = '';
  #failure: TokenGeneratorError | undefined;
  readonly #exited: Promise<void>;

  private constructor(child: ChildProcessWithoutNullStreams, batch: number) {
    this.#child = child;
    this.#batch = batch;
    child.stdout.setEncoding('latin1');
    child.stdout.on('data', (chunk: string) => this.#onData(chunk));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (this.#stderr.length < 4096) this.#stderr += chunk;
    });
    // A write after the generator died must not crash the process; the exit handler reports it.
    child.stdin.on('error', () => undefined);
    this.#exited = new Promise((resolve) => {
      child.on('close', (code, signal) => {
        this.#fail(`the token generator exited (${signal ?? code})`);
        resolve();
      });
      child.on('error', (err) => {
        this.#fail(`the token generator could not run: ${err.message}`);
        resolve();
      });
    });
  }

  /**
   * Starts the generator and waits until it holds a service ticket for `service`.
   *
   * @param opts.service - `service@host`, e.g. `HTTP@www.example.com`.
   * @param opts.batch - Tokens fetched per refill; the stock is refilled below one batch.
   * @throws TokenGeneratorError with the generator's reason (no ticket in KRB5CCNAME, the KDC
   *   knows no such service, the program is not built).
   */
  static async start(opts: { service: string; mech: TokenMech; batch: number }): Promise<TokenGenerator> {
    if (!existsSync(TOKENGEN_PATH)) {
      throw new TokenGeneratorError(`${TOKENGEN_PATH} is missing: build it with npm run build:native`);
    }
    const child = spawn(TOKENGEN_PATH, ['--service', opts.service, '--mech', opts.mech], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const gen = new TokenGenerator(child, opts.batch);
    await new Promise<void>((resolve, reject) => gen.#requests.push({ kind: 'ready', resolve, reject }));
    gen.#refill();
    return gen;
  }

  /** A fresh token (base64) from the stock, or undefined when the stock is empty. */
  take(): string | undefined {
    const token = this.#stock.pop();
    this.#refill();
    return token;
  }

  /** A fresh token (base64), waiting for the next batch when the stock is empty. */
  next(): Promise<string> {
    const token = this.take();
    if (token !== undefined) return Promise.resolve(token);
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** A fresh token (base64) whose context the generator keeps, to verify the server's reply. */
  keep(): Promise<{ id: number; token: string }> {
    return new Promise((resolve, reject) => this.#send('k\n', { kind: 'keep', resolve, reject }));
  }

  /**
   * Completes kept context `id` with the server's reply token (base64): undefined when the
   * reply completes it with mutual authentication, else the reason. The context is freed.
   */
  verify(id: number, replyBase64: string): Promise<string | undefined> {
    return new Promise((resolve, reject) =>
      this.#send(`v ${id} ${replyBase64}\n`, { kind: 'verify', resolve, reject }),
    );
  }

  /** Frees kept context `id` without verifying (the handshake failed). */
  drop(id: number): void {
    if (!this.#failure) this.#child.stdin.write(`d ${id}\n`);
  }

  /** Ends the generator; resolves with its own CPU use when it reported it. */
  async close(): Promise<TokenGeneratorUsage | undefined> {
    this.#child.stdin.end();
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 5_000);
    await this.#exited;
    clearTimeout(timer);
    const line = this.#stderr.split('\n').find((l) => l.startsWith('{"cpuSeconds"'));
    if (line === undefined) return undefined;
    const usage = JSON.parse(line) as TokenGeneratorUsage;
    return usage;
  }

  #send(text: string, request: Request): void {
    if (this.#failure) {
      if (request.kind !== 'batch') request.reject(this.#failure);
      return;
    }
    this.#requests.push(request);
    this.#child.stdin.write(text);
  }

  #refill(): void {
    if (this.#failure || this.#stock.length + this.#inFlight >= this.#batch + this.#waiters.length) return;
    this.#inFlight += this.#batch;
    this.#send(`n ${this.#batch}\n`, { kind: 'batch', remaining: this.#batch });
  }

  #onData(chunk: string): void {
    const text = this.#partial + chunk;
    let start = 0;
    let nl: number;
    while ((nl = text.indexOf('\n', start)) >= 0) {
      this.#onLine(text.slice(start, nl));
      start = nl + 1;
    }
    this.#partial = text.slice(start);
  }

  #onLine(line: string): void {
    const request = this.#requests[0];
    if (request === undefined) return;
    if (line.startsWith('! ')) {
      this.#requests.shift();
      const err = new TokenGeneratorError(line.slice(2));
      if (request.kind === 'batch') {
        this.#inFlight -= request.remaining;
        // A batch that cannot be made will not be made on a retry either (expired ticket).
        this.#fail(line.slice(2));
      } else {
        request.reject(err);
      }
      return;
    }
    switch (request.kind) {
      case 'ready':
        this.#requests.shift();
        if (line === 'ready') request.resolve();
        else request.reject(new TokenGeneratorError(`unexpected first line from the token generator`));
        return;
      case 'batch': {
        this.#inFlight--;
        if (--request.remaining === 0) this.#requests.shift();
        const waiter = this.#waiters.shift();
        if (waiter) waiter.resolve(line);
        else this.#stock.push(line);
        return;
      }
      case 'keep': {
        this.#requests.shift();
        const space = line.indexOf(' ');
        request.resolve({ id: Number(line.slice(0, space)), token: line.slice(space + 1) });
        return;
      }
      case 'verify': {
        this.#requests.shift();
        const [verdict, , ...reason] = line.split(' ');
        request.resolve(verdict === 'ok' ? undefined : reason.join(' ') || 'verification failed');
        return;
      }
    }
  }

  #fail(reason: string): void {
    if (this.#failure) return;
    const last = this.#stderr.trim() || this.#lastErrorLine();
    this.#failure = new TokenGeneratorError(last && !last.startsWith('{') ? `${reason}: ${last}` : reason);
    for (const r of this.#requests.splice(0)) if (r.kind !== 'batch') r.reject(this.#failure);
    for (const w of this.#waiters.splice(0)) w.reject(this.#failure);
  }

  #lastErrorLine(): string {
    return this.#partial.startsWith('! ') ? this.#partial.slice(2) : '';
  }
}
