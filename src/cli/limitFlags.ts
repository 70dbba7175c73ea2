/** `serve`'s Limits section (serveFlags.ts holds the table; flagTable.ts what a row holds). */
import { DEFAULT_LIMITS, DEFAULT_SHUTDOWN_GRACE_MS, RANGES, type IntRange } from '../config.js';
import type { FlagSection } from './flagTable.js';
import { parseWholeNumber } from './flagValues.js';
import { ConfigError } from '../errors.js';
import { isHandoffKind } from '../pool/callDispatcher.js';

const whole = (name: string, value: string, range: IntRange): number => parseWholeNumber(`--${name}`, value, range);

export const LIMIT_FLAGS: FlagSection = {
  title: 'Limits',
  rows: [
    {
      name: 'workers',
      type: 'string',
      placeholder: 'N',
      default: 'CPU count',
      help: 'Worker threads running GSSAPI calls.',
      apply: (into, v) => void (into.options.workers = whole('workers', v, RANGES.workers)),
    },
    {
      name: 'pool-handoff',
      type: 'string',
      placeholder: 'KIND',
      default: 'native',
      help:
        "native | piscina. How calls reach the worker threads (native: parked on the addon's queue; " +
        'piscina: a Piscina task per batch).',
      apply: (into, v) => {
        if (!isHandoffKind(v))
          throw new ConfigError('ERR_CONFIG', `--pool-handoff expects piscina or native, not ${JSON.stringify(v)}`);
        into.options.poolHandoff = v;
      },
    },
    {
      name: 'max-queue',
      type: 'string',
      placeholder: 'N',
      default: String(DEFAULT_LIMITS.maxQueue),
      help: 'Calls waiting for a worker (beyond one running per worker) before new ones fail fast.',
      apply: (into, v) => void (into.options.limits.maxQueue = whole('max-queue', v, RANGES.maxQueue)),
    },
    {
      name: 'task-timeout',
      type: 'string',
      placeholder: 'MS',
      default: String(DEFAULT_LIMITS.taskTimeoutMs),
      help: 'A GSSAPI task running longer fails, its worker is replaced.',
      apply: (into, v) => void (into.options.limits.taskTimeoutMs = whole('task-timeout', v, RANGES.taskTimeoutMs)),
    },
    {
      name: 'max-contexts',
      type: 'string',
      placeholder: 'N',
      default: String(DEFAULT_LIMITS.maxContexts),
      help: 'Security contexts alive at once.',
      apply: (into, v) => void (into.options.limits.maxContexts = whole('max-contexts', v, RANGES.maxContexts)),
    },
    {
      name: 'max-handshakes-per-address',
      type: 'string',
      placeholder: 'N',
      default: 'a tenth of --max-contexts',
      help:
        'Handshakes one remote address may hold between legs (NTLM), over sspi, gss-sample and WebSocket; ' +
        'beyond it a leg 1 is refused, ERR_HANDSHAKES_PER_ADDRESS.',
      apply: (into, v) =>
        void (into.options.limits.maxHandshakesPerAddress = whole(
          'max-handshakes-per-address',
          v,
          RANGES.maxHandshakesPerAddress,
        )),
    },
    {
      name: 'max-token',
      type: 'string',
      placeholder: 'BYTES',
      default: String(DEFAULT_LIMITS.maxTokenBytes),
      help: 'Largest frame accepted, checked before allocation.',
      apply: (into, v) => void (into.options.limits.maxTokenBytes = whole('max-token', v, RANGES.maxTokenBytes)),
    },
    {
      name: 'handshake-timeout',
      type: 'string',
      placeholder: 'MS',
      default: String(DEFAULT_LIMITS.handshakeTimeoutMs),
      help: 'Deadline for a whole handshake.',
      apply: (into, v) =>
        void (into.options.limits.handshakeTimeoutMs = whole('handshake-timeout', v, RANGES.handshakeTimeoutMs)),
    },
    {
      name: 'idle-timeout',
      type: 'string',
      placeholder: 'MS',
      default: String(DEFAULT_LIMITS.idleTimeoutMs),
      help: 'Close connections silent this long.',
      apply: (into, v) => void (into.options.limits.idleTimeoutMs = whole('idle-timeout', v, RANGES.idleTimeoutMs)),
    },
    {
      name: 'max-connections',
      type: 'string',
      placeholder: 'N',
      default: `${DEFAULT_LIMITS.maxConnections}, lowered to fit the file-descriptor limit`,
      help:
        'Simultaneous connections per listener, HTTP with its WebSockets included; a value given here that does ' +
        'not fit the file-descriptor limit refuses to start.',
      apply: (into, v) =>
        void (into.options.limits.maxConnections = whole('max-connections', v, RANGES.maxConnections)),
    },
    {
      name: 'shutdown-grace',
      type: 'string',
      placeholder: 'MS',
      default: String(DEFAULT_SHUTDOWN_GRACE_MS),
      help: 'On SIGTERM/SIGINT, time given to handshakes in flight.',
      apply: (into, v) => void (into.options.shutdownGraceMs = whole('shutdown-grace', v, RANGES.shutdownGraceMs)),
    },
  ],
};
