#!/usr/bin/env node
/**
 * CPU per `authenticated` log line (the one line per handshake of the default info level), by
 * logger configuration; lines go to stderr, so redirect it to a file or a pipe:
 *
 *   node bench/logLine.mjs MODE [LINES] [PER_TICK] 2>/tmp/log     # or: 2>&1 >/dev/tty | cat >/tmp/log
 *
 * MODE: pino-redact (the logger before: pino's `redact` paths, synchronous stderr), sync (today's
 * createPinoLogger on process.stderr), buffered (today's CLI: src/logDestination.ts), sonic-block
 * (the CLI's destination before it: pino.destination sync:false in 4 KiB blocks, bounded), async0
 * (pino.destination sync:false without minLength), null (formatting only: a destination that
 * keeps nothing). PER_TICK lines are logged per event-loop turn
 * (default 1, as a server logs one handshake's line between other work). Needs `npm run build`.
 */
import { pino } from 'pino';
import { createPinoLogger, fromPinoCompatible, REDACTED, REDACTED_FIELDS } from '../dist/src/logger.js';
import { createStderrLogDestination } from '../dist/src/logDestination.js';

const [mode = 'buffered', linesArg = '100000', perTickArg = '1'] = process.argv.slice(2);
const N = Number(linesArg);
const perTick = Number(perTickArg);

function loggerFor(m) {
  if (m === 'sync') return createPinoLogger('info', process.stderr);
  if (m === 'buffered') return createPinoLogger('info', createStderrLogDestination().stream);
  if (m === 'sonic-block') {
    const dest = pino.destination({
      dest: 2,
      sync: false,
      minLength: 4096,
      maxLength: 4 * 1024 * 1024,
      periodicFlush: 100,
    });
    return createPinoLogger('info', dest);
  }
  if (m === 'null') return createPinoLogger('info', { write() {} });
  if (m === 'async0') return createPinoLogger('info', pino.destination({ dest: 2, sync: false }));
  if (m === 'pino-redact') {
    const paths = REDACTED_FIELDS.flatMap((name) => {
      const key = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name) ? name : `["${name}"]`;
      return [key, key.startsWith('[') ? `*${key}` : `*.${key}`];
    });
    return pino(
      {
        level: 'info',
        base: null,
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label) => ({ level: label }) },
        redact: { paths, censor: REDACTED },
      },
      process.stderr,
    );
  }
  process.stderr.write(`logLine: unknown mode ${m}\n`);
  process.exit(2);
}

const logger = fromPinoCompatible(loggerFor(mode));
const c0 = process.cpuUsage();
let i = 0;
await new Promise((resolve) => {
  const step = () => {
    for (let k = 0; k < perTick && i < N; k++, i++) {
      logger.info('authenticated', {
        connectionId: i,
        frontend: 'http',
        remoteAddress: '127.0.0.1',
        principal: 'alice@KRBTEST.COM',
        mech: 'krb5',
        spnego: true,
        latencyMs: 1.234,
      });
    }
    if (i < N) setImmediate(step);
    else resolve(undefined);
  };
  step();
});
process.on('exit', () => {
  const c = process.cpuUsage(c0);
  process.stdout.write(`${mode}: ${((c.user + c.system) / N).toFixed(2)} µs CPU per line (${perTick} per tick)\n`);
});
