/**
 * The acceptor credential's lifecycle for one pool: the checks and process-wide settings before
 * any worker starts, the keytab served from memory snapshots, and reloading it. Workers acquire
 * their own credential from what `workerSetup()` describes.
 */
import { ConfigError } from '../errors.js';
import type { NativeAddon } from '../native.js';
import type { WorkerSetup } from '../../workers/messages.js';
import { applyProcessWideSettings } from '../processSettings.js';
import {
  acquireOrThrow,
  checkCredentials,
  configureReplayCache,
  keytabFromEnv,
  slotCredentials,
  toNativeCredentials,
  type CredentialOptions,
} from './credentials.js';
import { KeytabSnapshots, type KeytabLoad } from './KeytabSnapshots.js';
import { LocalNames } from './localName.js';

export class AcceptorCredentials {
  readonly options: CredentialOptions;
  /** The local-name mode, its rules file read at start. */
  readonly localNames: LocalNames;
  readonly #addon: NativeAddon;
  readonly #snapshots: KeytabSnapshots | undefined;

  private constructor(
    addon: NativeAddon,
    options: CredentialOptions,
    localNames: LocalNames,
    snapshots: KeytabSnapshots | undefined,
  ) {
    this.#addon = addon;
    this.options = options;
    this.localNames = localNames;
    this.#snapshots = snapshots;
  }

  /**
   * Applies the process-wide settings, then checks the credentials on this thread (so a bad
   * keytab fails start with a clear error instead of failing every handshake), then loads the
   * first keytab snapshot.
   */
  static async prepare(addon: NativeAddon, options: CredentialOptions): Promise<AcceptorCredentials> {
    applyProcessWideSettings(options);
    configureReplayCache(addon, options);
    await checkCredentials(addon, options);
    const localNames = await LocalNames.load(options.localName ?? 'off');
    // A keytab file is served from memory snapshots (reloadable); without a known file (the
    // library's default keytab), MIT reads it as it always does.
    const source = options.keytab ?? keytabFromEnv();
    let snapshots: KeytabSnapshots | undefined;
    if (source !== undefined) {
      snapshots = new KeytabSnapshots(addon, source);
      snapshots.load((name) => acquireAll(addon, options, name, source));
    }
    return new AcceptorCredentials(addon, options, localNames, snapshots);
  }

  /** What each worker acquires its credential from. */
  workerSetup(): Pick<WorkerSetup, 'credentials' | 'keytab' | 'slotCredentials'> {
    const credentials = toNativeCredentials(this.options);
    const slots = slotCredentials(this.options).map(([slot, o]) => ({ ...toNativeCredentials(o), slot }));
    const setup: Pick<WorkerSetup, 'credentials' | 'keytab' | 'slotCredentials'> = { credentials };
    if (slots.length > 0) setup.slotCredentials = slots;
    if (this.#snapshots !== undefined) setup.keytab = { cells: this.#snapshots.shared, prefix: this.#snapshots.prefix };
    return setup;
  }

  /**
   * Reads the keytab file again and publishes the new keys to the workers (each switches on its
   * next task). The new keytab gets the same checks as at start; if it fails them this rejects
   * and the keys in use stay in use.
   */
  async reloadKeytab(): Promise<KeytabLoad> {
    if (this.#snapshots === undefined) {
      throw new ConfigError(
        'ERR_CONFIG',
        'no keytab file to reload: the server uses the library default keytab (give --keytab or KRB5_KTNAME=FILE:path)',
      );
    }
    const source = this.#snapshots.source;
    await checkCredentials(this.#addon, { ...this.options, keytab: source });
    return this.#snapshots.load((name) => acquireAll(this.#addon, this.options, name, source));
  }

  /** The generation of the keytab snapshot in use (1 after start, +1 per successful reload); 0 without snapshots. */
  keytabGeneration(): number {
    return this.#snapshots === undefined ? 0 : Atomics.load(this.#snapshots.cells, 0);
  }
}

/** Acquires (on this thread, as a check) the default credential and each front end's from the snapshot `name`. */
function acquireAll(addon: NativeAddon, options: CredentialOptions, name: string, source: string): void {
  acquireOrThrow(addon, { ...options, keytab: name }, source);
  for (const [, o] of slotCredentials(options)) acquireOrThrow(addon, { ...o, keytab: name }, source);
}
