/**
 * negotiate-server/passport: a passport strategy named `negotiate` over the framework-neutral
 * adapter, for applications that already authenticate through passport.
 *
 *   passport.use(new NegotiateStrategy({ credentials: { keytab: '/etc/krb5.keytab' } }));
 *   app.get('/', passport.authenticate('negotiate', { session: false }), (req, res) => ...);
 *
 * How passport answers (passport/lib/middleware/authenticate.js): `this.fail(challenge, 401)`
 * becomes a 401 whose `WWW-Authenticate` lists the string challenges of every strategy that
 * failed; other statuses are sent as they are, with the status text as body. The refusal's own
 * body is not sent. `this.success(user)` logs the user in and calls the next handler: the final
 * `WWW-Authenticate` (the mutual-authentication token) and any session cookie are set on
 * `req.res` first, which Express provides.
 *
 * passport calls authenticate() on an object made with Object.create(strategy), so instance
 * state is read through the prototype chain: no `#private` fields here.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Strategy } from 'passport-strategy';
import type { AdapterIdentity, NegotiateAuthenticator, NegotiateOutcome } from '../adapter/index.js';
import { ConfigError } from '../errors.js';
import { AuthenticatorSource, type NegotiateWrapperOptions } from '../frameworks/AuthenticatorSource.js';

export type { AdapterIdentity, NegotiateAuthenticator } from '../adapter/index.js';
export type { NegotiateWrapperOptions } from '../frameworks/AuthenticatorSource.js';

/**
 * `done(err)`: an error (next(err)); `done(null, false, info?)`: the authenticated client is
 * not a user of this application (403); `done(null, user, info?)`: `req.user` is `user`.
 */
export type NegotiateVerifyDone = (err: Error | null, user?: Express.User | false, info?: object) => void;

/** Maps the proven client to the application's user; without it `req.user` is the identity itself. */
export type NegotiateVerify = (identity: AdapterIdentity, done: NegotiateVerifyDone) => void;

/** What the strategy reads of a request: Express's Request is one. */
export type NegotiateStrategyRequest = IncomingMessage & {
  res?: ServerResponse | undefined;
  negotiate?: AdapterIdentity | undefined;
};

const WWW_AUTHENTICATE = 'www-authenticate';

export class NegotiateStrategy extends Strategy {
  name = 'negotiate';
  /** The authenticator behind the strategy; rejects when it could not be made. */
  readonly ready: Promise<NegotiateAuthenticator>;
  private readonly source: AuthenticatorSource;
  private readonly verify: NegotiateVerify | undefined;

  /**
   * `options`: the adapter's options, or an existing NegotiateAuthenticator (alone or as
   * `{ authenticator }`) shared with other apps. `verify`: optional, see NegotiateVerify.
   */
  constructor(options: NegotiateWrapperOptions | NegotiateAuthenticator = {}, verify?: NegotiateVerify) {
    super();
    this.source = new AuthenticatorSource(options);
    this.ready = this.source.ready;
    this.verify = verify;
  }

  /** Closes the authenticator if this strategy created it; a shared one is left open. */
  close(): Promise<void> {
    return this.source.close();
  }

  override authenticate(req: NegotiateStrategyRequest): void {
    this.source.ready
      .then((authenticator) => authenticator.authenticate(req, req.res))
      .then(
        (outcome) => this.decide(req, outcome),
        (err: unknown) => this.error(err instanceof Error ? err : new Error(String(err))),
      )
      .catch((err: unknown) => this.error(err instanceof Error ? err : new Error(String(err))));
  }

  private decide(req: NegotiateStrategyRequest, outcome: NegotiateOutcome): void {
    if (outcome.kind === 'refused' && outcome.code.startsWith('ERR_AUTHZ_')) {
      // Authorization refused an authenticated client: no challenge to merge (retrying as the
      // same user cannot help), but the mutual token still goes out with the 403.
      for (const [name, value] of outcome.headers) req.res?.appendHeader(name, value);
      this.fail(outcome.status);
      return;
    }
    if (outcome.kind !== 'authenticated') {
      // Extra headers (Retry-After on a 503) go on the response; the challenge goes through
      // fail(), which is how passport merges it with other strategies' challenges.
      for (const [name, value] of outcome.headers)
        if (name.toLowerCase() !== WWW_AUTHENTICATE) req.res?.appendHeader(name, value);
      const challenge = outcome.headers.find(([name]) => name.toLowerCase() === WWW_AUTHENTICATE)?.[1];
      if (challenge !== undefined) this.fail(challenge, outcome.status);
      else this.fail(outcome.status);
      return;
    }
    const identity = outcome.identity;
    const succeed = (user: Express.User, info?: object): void => {
      const res = req.res;
      if (res === undefined && outcome.headers.length > 0) {
        this.error(
          new ConfigError(
            'ERR_CONFIG',
            'NegotiateStrategy needs req.res (Express sets it) to send the mutual-authentication token ' +
              'and session cookie with the response; use the middleware of negotiate-server/express elsewhere',
          ),
        );
        return;
      }
      for (const [name, value] of outcome.headers) res?.appendHeader(name, value);
      req.negotiate = identity;
      this.success(user, info);
    };
    if (this.verify === undefined) {
      succeed(identity);
      return;
    }
    this.verify(identity, (err, user, info) => {
      if (err !== null) this.error(err);
      else if (user === undefined || user === false) this.fail(info ?? {}, 403);
      else succeed(user, info);
    });
  }
}

export default NegotiateStrategy;
