/**
 * Awaiting events in tests, bounded in time.
 */
import type { EventEmitter } from 'node:events';

/**
 * Resolves with the next `name` event; attach BEFORE the action that triggers it. Rejects after
 * `timeoutMs`; the rejection is pre-handled so a test that already failed does not also report
 * it as an unhandled rejection.
 */
export function nextEvent<T>(emitter: EventEmitter, name: string, timeoutMs = 10_000): Promise<T> {
  const p = new Promise<T>((resolve, reject) => {
    const on = (v: T): void => {
      clearTimeout(timer);
      resolve(v);
    };
    const timer = setTimeout(() => {
      emitter.off(name, on);
      reject(new Error(`no '${name}' event within ${timeoutMs} ms`));
    }, timeoutMs);
    emitter.once(name, on);
  });
  p.catch(() => undefined);
  return p;
}

/** Records every `name` event until stop() is called. */
export function collect<T>(emitter: EventEmitter, name: string): { items: T[]; stop: () => void } {
  const items: T[] = [];
  const on = (v: T): void => {
    items.push(v);
  };
  emitter.on(name, on);
  return { items, stop: () => emitter.off(name, on) };
}
