/**
 * Counts by label values as plain numbers, handed to a prom-client Counter only when it is
 * scraped (its `collect` hook). prom-client's `inc(labels)` validates the labels and builds a
 * sorted hash string on every call (~0.6 µs); a handshake here costs two Map lookups and an
 * addition. The series keep the order in which their label values were first counted, as
 * prom-client's own would.
 */
import type { Counter } from 'prom-client';

interface Series<T extends string> {
  readonly labels: Record<T, string>;
  count: number;
}

/** Counts keyed by two label values; the other labels of a series are fixed when it is created. */
export class LabelTally<T extends string> {
  readonly #index = new Map<string, Map<string, Series<T>>>();
  readonly #series: Array<Series<T>> = [];

  /** Adds 1 to the series of (`first`, `second`); `labels` builds its labels the first time only. */
  add(first: string, second: string, labels: () => Record<T, string>): void {
    let inner = this.#index.get(first);
    if (inner === undefined) {
      inner = new Map();
      this.#index.set(first, inner);
    }
    const series = inner.get(second);
    if (series !== undefined) {
      series.count++;
      return;
    }
    const created = { labels: labels(), count: 1 };
    inner.set(second, created);
    this.#series.push(created);
  }

  /** Sets `counter` to these counts (call from its `collect`): every series, nothing else. */
  writeTo(counter: Counter<T>): void {
    counter.reset();
    for (const s of this.#series) counter.inc(s.labels, s.count);
  }
}
