/**
 * The CLI's log destination: stderr written asynchronously in blocks, so the per-handshake
 * `authenticated` line costs a memory append instead of a blocking write(2) per line (on a
 * pipe to a slow reader, e.g. a container's log driver, a synchronous write stalls every
 * connection). Lines are held until 4 KiB are buffered or 100 ms have passed; everything
 * buffered is written on a normal exit (pino flushes its destinations on `exit`, and the CLI
 * ends SIGTERM/SIGINT with a normal exit). The buffer is bounded: when stderr cannot take the
 * lines as fast as they come and 4 MiB are waiting, further lines are dropped, counted, and
 * reported by one warn line once stderr has room again, rather than growing memory.
 */
import { pino, type DestinationStream } from 'pino';

/** Bytes buffered before a write. */
export const LOG_BLOCK_BYTES = 4096;
/** The longest a line waits in the buffer, ms. */
export const LOG_FLUSH_MS = 100;
/** Bytes buffered at most; lines beyond are dropped. */
export const LOG_BUFFER_MAX_BYTES = 4 * 1024 * 1024;

export interface StderrLogDestination {
  /** What createPinoLogger writes into. */
  readonly stream: DestinationStream;
  /** Writes everything buffered now, synchronously (before the CLI writes to stderr itself). */
  flushSync(): void;
  /** Lines dropped so far because the buffer was full. */
  readonly dropped: number;
}

/** An asynchronous, bounded stderr destination (fd 2). */
export function createStderrLogDestination(fd = 2): StderrLogDestination {
  const sonic = pino.destination({
    dest: fd,
    sync: false,
    minLength: LOG_BLOCK_BYTES,
    maxLength: LOG_BUFFER_MAX_BYTES,
    periodicFlush: LOG_FLUSH_MS,
  });
  let dropped = 0;
  let unreported = 0;
  sonic.on('drop', () => {
    dropped++;
    unreported++;
  });
  // Reported once there is room again (checked at the flush period, never per line).
  const report = setInterval(() => {
    if (unreported === 0) return;
    const n = unreported;
    unreported = 0;
    const line = {
      level: 'warn',
      time: new Date().toISOString(),
      dropped: n,
      msg: 'log lines dropped: stderr is too slow',
    };
    sonic.write(`${JSON.stringify(line)}\n`);
  }, LOG_FLUSH_MS);
  report.unref();
  return {
    stream: sonic,
    flushSync: () => {
      try {
        sonic.flushSync();
      } catch {
        // Nothing to flush yet (the fd is opened asynchronously) or stderr is gone: nothing to do.
      }
    },
    get dropped() {
      return dropped;
    },
  };
}
