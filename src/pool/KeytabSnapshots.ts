/**
 * The keytab the workers accept with, served from memory: read once at start and again on
 * each reload, then swapped whole. MIT would otherwise reopen and rescan the keytab file on
 * every accept, and could read a keytab that is being rewritten in place half-written.
 */
import { ConfigError } from '../errors.js';
import type { NativeAddon } from '../native.js';

export interface KeytabLoad {
  /** The file the keys were read from. */
  source: string;
  /** Keys (entries) loaded. */
  entries: number;
  /** Generation of the snapshot now in use; 1 after start, +1 per successful reload. */
  generation: number;
}

export class KeytabSnapshots {
  /** Shared with the workers: slot 0 of `cells` holds the generation they must accept with. */
  readonly shared = new SharedArrayBuffer(4);
  readonly cells = new Int32Array(this.shared);
  /** Memory keytab names are `${prefix}${attempt}`; unique per process and per attempt. */
  readonly prefix = `MEMORY:negotiate-${process.pid}-${Math.random().toString(36).slice(2, 10)}-`;
  readonly #addon: NativeAddon;
  readonly #source: string;
  #attempts = 0;

  constructor(addon: NativeAddon, source: string) {
    this.#addon = addon;
    this.#source = source;
  }

  get source(): string {
    return this.#source;
  }

  /** The memory keytab of the current generation (what credentials are acquired from). */
  current(): string {
    return `${this.prefix}${Atomics.load(this.cells, 0)}`;
  }

  /**
   * Reads the keytab file into a new snapshot. `validate` acquires a credential from it (on
   * the caller's thread) before the workers are told: a keytab that would fail every
   * handshake is refused, and the previous snapshot stays in use.
   */
  load(validate: (memoryName: string) => void): KeytabLoad {
    const attempt = ++this.#attempts;
    const name = `${this.prefix}${attempt}`;
    const snap = this.#addon.snapshotKeytab(this.#source, name);
    if (!snap.ok) {
      throw new ConfigError('ERR_KEYTAB_UNREADABLE', `keytab ${this.#source} cannot be loaded: ${snap.message}`);
    }
    try {
      validate(name);
    } catch (err) {
      this.#addon.dropKeytabSnapshot(name);
      throw err;
    }
    const previous = Atomics.load(this.cells, 0);
    Atomics.store(this.cells, 0, attempt);
    // Workers still on the previous snapshot hold their own references until they switch.
    if (previous !== 0) this.#addon.dropKeytabSnapshot(`${this.prefix}${previous}`);
    return { source: this.#source, entries: snap.entries, generation: attempt };
  }
}
