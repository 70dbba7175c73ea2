/**
 * The one NegotiateAuthenticator behind a framework wrapper (Express middleware, Fastify plugin,
 * passport strategy): the application's own, when it passes one (several apps then share one
 * pool of workers and one context table), or one the wrapper creates from options and owns.
 *
 * Creation starts at once, so a bad keytab is reported by `ready` before the first request;
 * an application that does not await `ready` gets the same error on each request instead.
 */
import { NegotiateAuthenticator, type NegotiateAuthenticatorOptions } from '../adapter/index.js';
import { ConfigError } from '../errors.js';

/** Options of every wrapper: the adapter's options, or an existing authenticator to share. */
export type NegotiateWrapperOptions = NegotiateAuthenticatorOptions | { authenticator: NegotiateAuthenticator };

export class AuthenticatorSource {
  /** Resolves with the authenticator; rejects when creating it failed (e.g. an unreadable keytab). */
  readonly ready: Promise<NegotiateAuthenticator>;
  /** True when the wrapper created the authenticator, so close() closes it. */
  readonly owned: boolean;
  #closing: Promise<void> | undefined;

  constructor(options: NegotiateWrapperOptions | NegotiateAuthenticator) {
    if (options instanceof NegotiateAuthenticator) {
      this.owned = false;
      this.ready = Promise.resolve(options);
    } else if ('authenticator' in options) {
      const extra = Object.keys(options).filter((k) => k !== 'authenticator');
      if (extra.length > 0)
        throw new ConfigError(
          'ERR_CONFIG',
          `an existing authenticator comes with its own settings: pass either { authenticator } or the ` +
            `authenticator's options, not both (also given: ${extra.join(', ')})`,
        );
      if (!(options.authenticator instanceof NegotiateAuthenticator))
        throw new ConfigError(
          'ERR_CONFIG',
          '`authenticator` must be a NegotiateAuthenticator of negotiate-server/adapter',
        );
      this.owned = false;
      this.ready = Promise.resolve(options.authenticator);
    } else {
      this.owned = true;
      this.ready = NegotiateAuthenticator.create(options);
      // Reported through `ready` and on each request; never an unhandled rejection.
      this.ready.catch(() => undefined);
    }
  }

  /**
   * Closes the authenticator if the wrapper created it (its pool with it); an authenticator the
   * application passed in is the application's to close. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.owned
      ? this.ready.then(
          (a) => a.close(),
          () => undefined,
        )
      : Promise.resolve();
    return this.#closing;
  }
}
