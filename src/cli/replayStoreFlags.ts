/**
 * `serve`'s "Replay cache on Redis" section (serveFlags.ts holds the table; flagTable.ts what a
 * row holds): the options of `--replay-cache redis://...`, which is in the Credentials section.
 */
import { ConfigError } from '../errors.js';
import {
  DEFAULT_SHARED_REPLAY_CACHE,
  isReplayFallback,
  type SharedReplayCacheOptions,
} from '../replay/sharedReplayOptions.js';
import type { FlagSection, ServeInvocation } from './flagTable.js';
import { parseWholeNumber } from './flagValues.js';

function shared(into: ServeInvocation): SharedReplayCacheOptions {
  into.options.credentials.sharedReplayCache ??= {};
  return into.options.credentials.sharedReplayCache;
}

export const REPLAY_STORE_FLAGS: FlagSection = {
  title: 'Replay cache on Redis (--replay-cache redis://[user:pass@]host:port[/db] or rediss://)',
  rows: [
    {
      name: 'replay-cache-prefix',
      type: 'string',
      placeholder: 'PREFIX',
      default: DEFAULT_SHARED_REPLAY_CACHE.prefix,
      help:
        'Key prefix; keys are PREFIX + service principal + ":" + tag. Servers that must refuse each ' +
        "other's replays share it.",
      apply: (into, v) => void (shared(into).prefix = v),
    },
    {
      name: 'replay-cache-timeout',
      type: 'string',
      placeholder: 'MS',
      default: String(DEFAULT_SHARED_REPLAY_CACHE.timeoutMs),
      help: 'Deadline of one check on Redis; a later answer counts as Redis unavailable.',
      apply: (into, v) =>
        void (shared(into).timeoutMs = parseWholeNumber('--replay-cache-timeout', v, { min: 1, max: 60_000 })),
    },
    {
      name: 'replay-cache-fallback',
      type: 'string',
      placeholder: 'MODE',
      default: DEFAULT_SHARED_REPLAY_CACHE.fallback,
      help:
        'When Redis cannot check a handshake: none refuses it (HTTP 503, /readyz 503 until Redis is back); ' +
        "memory checks it on this process's in-memory cache only (warning, metric), /readyz stays 200.",
      apply: (into, v) => {
        if (!isReplayFallback(v))
          throw new ConfigError(
            'ERR_CONFIG',
            `--replay-cache-fallback expects none or memory, not ${JSON.stringify(v)}`,
          );
        shared(into).fallback = v;
      },
    },
  ],
};
