/**
 * One timer for every connection's deadlines. A TCP front end serves one handshake per
 * connection, so a Node timer per deadline (a Timeout object armed and cleared per connection,
 * and socket.setTimeout re-arming its own on every read and write) is per-connection work on
 * the socket thread. The wheel instead keeps entries in slots of `tickMs` and one unref'd
 * interval walks the slots that came due: adding and removing an entry is a Set operation, and
 * a deadline that moves (idle time refreshed by data) is not touched until its old slot comes
 * round, when the entry says when it is next due.
 *
 * An entry is never called before the time it asked for, and at most about one tick after it.
 */

/** What the wheel holds: an object that knows its own deadlines. */
export interface DeadlineEntry {
  /** The wheel's bookkeeping: the slot the entry is in, -1 when in none. Only the wheel writes it. */
  deadlineSlot: number;
  /**
   * Called once the time the entry was scheduled for has passed (Date.now() clock, ms). Returns
   * the next time it must be called, or undefined to leave the wheel.
   */
  onDeadline(now: number): number | undefined;
}

export class DeadlineWheel {
  readonly tickMs: number;
  /** Slot number (time / tickMs, rounded up) → the entries due then. */
  readonly #slots = new Map<number, Set<DeadlineEntry>>();
  #size = 0;
  /** The first slot not walked yet. */
  #next = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(tickMs: number) {
    if (!(tickMs >= 1)) throw new RangeError(`DeadlineWheel: tickMs must be >= 1, got ${tickMs}`);
    this.tickMs = tickMs;
  }

  /** The tick for deadlines no shorter than `shortestMs`: a tenth of it, within 10..100 ms. */
  static tickFor(shortestMs: number): number {
    return Math.min(100, Math.max(10, Math.floor(shortestMs / 10)));
  }

  /** Entries in the wheel. */
  get size(): number {
    return this.#size;
  }

  /** Calls `entry.onDeadline` once `at` (Date.now() clock, ms) has passed; moves it if already in. */
  add(entry: DeadlineEntry, at: number): void {
    if (entry.deadlineSlot >= 0) this.remove(entry);
    if (this.#timer === undefined) {
      this.#next = Math.floor(Date.now() / this.tickMs);
      this.#timer = setInterval(() => this.#walk(Date.now()), this.tickMs);
      this.#timer.unref();
    }
    // Rounded up, and never behind the walk: the slot is only walked once its time has passed.
    const slot = Math.max(Math.ceil(at / this.tickMs), this.#next);
    let set = this.#slots.get(slot);
    if (set === undefined) {
      set = new Set();
      this.#slots.set(slot, set);
    }
    set.add(entry);
    entry.deadlineSlot = slot;
    this.#size += 1;
  }

  /** Takes the entry out (nothing if it is not in). */
  remove(entry: DeadlineEntry): void {
    const slot = entry.deadlineSlot;
    if (slot < 0) return;
    entry.deadlineSlot = -1;
    this.#size -= 1;
    // A slot being walked is no longer in the map: the walk skips entries whose slot changed.
    this.#slots.get(slot)?.delete(entry);
    if (this.#size === 0) this.#stop();
  }

  /** Only when empty: the walk restarts from the current time when the next entry comes. */
  #stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #walk(now: number): void {
    const upTo = Math.floor(now / this.tickMs);
    while (this.#next <= upTo && this.#size > 0) {
      const slot = this.#next;
      this.#next += 1;
      const set = this.#slots.get(slot);
      if (set === undefined) continue;
      this.#slots.delete(slot);
      for (const entry of set) {
        if (entry.deadlineSlot !== slot) continue;
        entry.deadlineSlot = -1;
        this.#size -= 1;
        const again = entry.onDeadline(now);
        if (again !== undefined && entry.deadlineSlot < 0) this.add(entry, again);
      }
    }
    if (this.#size === 0) this.#stop();
  }
}
