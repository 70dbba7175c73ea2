/**
 * The CLI's log destination: stderr written asynchronously in blocks, so the per-handshake
 * `authenticated` line costs an array push instead of a blocking write(2) per line (on a pipe to
 * a slow reader, e.g. a container's log driver, a synchronous write stalls every connection).
 * Lines are held until 64 KiB are buffered or 100 ms have passed; everything buffered is written
 * synchronously on exit and by `flushSync` (the CLI calls it before writing to stderr itself),
 * which waits at most a second for a non-blocking stderr that is full.
 * The buffer is bounded: when stderr cannot take the lines as fast as they come and 4 MiB are
 * waiting, further lines are dropped, counted, and reported by one warn line once stderr has room
 * again, rather than growing memory.
 *
 * Our own writer rather than pino's sonic-boom destination: sonic-boom measures the byte length of
 * its whole pending block on every line (`Buffer.byteLength` of a string that grows by
 * concatenation), which made a line cost ~8 µs more than formatting it (bench/logLine.mjs).
 */
import { write as fsWrite, writeSync } from 'node:fs';
import type { DestinationStream } from 'pino';
import { errnoCode } from './errors.js';

/** Characters buffered before a write starts (one per byte for the ASCII lines pino writes). */
export const LOG_BLOCK_BYTES = 64 * 1024;
/** The longest a line waits in the buffer, ms. */
export const LOG_FLUSH_MS = 100;
/** Characters buffered at most, the block being written included; lines beyond are dropped. */
export const LOG_BUFFER_MAX_BYTES = 4 * 1024 * 1024;
/** How long a write that found stderr full (EAGAIN) waits before trying again, ms. */
const RETRY_MS = 10;
/** The longest flushSync waits for a full non-blocking stderr before it gives up, ms. */
export const FLUSH_SYNC_MAX_WAIT_MS = 1000;
/** What flushSync sleeps on between tries (Atomics.wait: a synchronous pause). */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

export interface StderrLogDestination {
  /** What createPinoLogger writes into. */
  readonly stream: DestinationStream;
  /** Writes everything buffered now, synchronously (before the CLI writes to stderr itself). */
  flushSync(): void;
  /** Lines dropped so far because the buffer was full or stderr is gone. */
  readonly dropped: number;
}

// Whatever way the process ends (a normal exit, an uncaught error), buffered lines go out:
// one exit hook for every destination of the process.
const live = new Set<BlockWriter>();
let exitHooked = false;

/** An asynchronous, bounded destination on `fd` (stderr by default). */
export function createStderrLogDestination(fd = 2): StderrLogDestination {
  const blocks = new BlockWriter(fd);
  const timer = setInterval(() => blocks.tick(), LOG_FLUSH_MS);
  timer.unref();
  live.add(blocks);
  if (!exitHooked) {
    exitHooked = true;
    process.once('exit', () => {
      for (const b of live) b.flushSync();
    });
  }
  return {
    stream: { write: (line: string) => blocks.append(line) },
    flushSync: () => blocks.flushSync(),
    get dropped() {
      return blocks.dropped;
    },
  };
}

class BlockWriter {
  readonly #fd: number;
  #parts: string[] = [];
  #pending = 0;
  /** The bytes an asynchronous write holds (what is left of them after a partial write). */
  #inFlight: Buffer | undefined;
  /** The retry of a write that found stderr full (EAGAIN): its block is not in the kernel yet. */
  #retry: NodeJS.Timeout | undefined;
  /** stderr is gone (EPIPE, EBADF…): lines are counted as dropped from now on. */
  #broken = false;
  #dropped = 0;
  #unreported = 0;

  constructor(fd: number) {
    this.#fd = fd;
  }

  get dropped(): number {
    return this.#dropped;
  }

  append(line: string): void {
    if (this.#broken || this.#pending + (this.#inFlight?.length ?? 0) + line.length > LOG_BUFFER_MAX_BYTES) {
      this.#dropped++;
      this.#unreported++;
      return;
    }
    this.#parts.push(line);
    this.#pending += line.length;
    if (this.#pending >= LOG_BLOCK_BYTES) this.#startWrite();
  }

  /** The flush period: what waits goes out, and drops are reported once there is room again. */
  tick(): void {
    if (this.#unreported > 0 && this.#inFlight === undefined && !this.#broken) {
      const n = this.#unreported;
      this.#unreported = 0;
      const time = new Date().toISOString();
      const line = { level: 'warn', time, dropped: n, msg: 'log lines dropped: stderr is too slow' };
      this.append(`${JSON.stringify(line)}\n`);
    }
    this.#startWrite();
  }

  flushSync(): void {
    // A block already handed to the thread pool is left to it (it cannot be recalled); what
    // waits behind it is written now. At the CLI's calls nothing is normally in flight: the
    // last asynchronous write finished while the server closed. A block waiting for its retry
    // is still ours: it goes first.
    let rest = this.#take();
    if (this.#retry !== undefined && this.#inFlight !== undefined) {
      clearTimeout(this.#retry);
      this.#retry = undefined;
      rest = rest === undefined ? this.#inFlight : Buffer.concat([this.#inFlight, rest]);
      this.#inFlight = undefined;
    }
    let at = 0;
    const giveUpAt = Date.now() + FLUSH_SYNC_MAX_WAIT_MS;
    while (rest !== undefined && at < rest.length && !this.#broken) {
      try {
        at += writeSync(this.#fd, rest, at, rest.length - at);
      } catch (e) {
        // A non-blocking stderr that is full waits for its reader, but not forever: a reader
        // that never reads must not keep the process from exiting.
        if (errnoCode(e) !== 'EAGAIN' || Date.now() >= giveUpAt) {
          this.#broken = true;
        } else {
          Atomics.wait(PAUSE, 0, 0, RETRY_MS);
        }
      }
    }
  }

  #take(): Buffer | undefined {
    if (this.#pending === 0) return undefined;
    const block = Buffer.from(this.#parts.join(''));
    this.#parts = [];
    this.#pending = 0;
    return block;
  }

  #startWrite(): void {
    if (this.#inFlight !== undefined || this.#broken) return;
    this.#inFlight = this.#take();
    if (this.#inFlight !== undefined) this.#writeInFlight();
  }

  #writeInFlight(): void {
    const block = this.#inFlight;
    if (block === undefined) return;
    fsWrite(this.#fd, block, 0, block.length, null, (err, written) => {
      if (err) {
        if (errnoCode(err) === 'EAGAIN') {
          this.#retry = setTimeout(() => {
            this.#retry = undefined;
            this.#writeInFlight();
          }, RETRY_MS);
          this.#retry.unref();
          return;
        }
        this.#broken = true;
        this.#inFlight = undefined;
        return;
      }
      if (written < block.length) {
        this.#inFlight = block.subarray(written);
        this.#writeInFlight();
        return;
      }
      this.#inFlight = undefined;
      if (this.#pending >= LOG_BLOCK_BYTES) this.#startWrite();
    });
  }
}
