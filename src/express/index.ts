/**
 * negotiate-server/express: connect/Express middleware over the framework-neutral adapter.
 *
 *   app.use(negotiate({ credentials: { keytab: '/etc/krb5.keytab' } }));
 *   app.get('/', (req, res) => res.send(req.negotiate?.principal));
 *
 * Any method; the request body is left unread for the parsers behind it. A request without
 * credentials gets the 401 `WWW-Authenticate: Negotiate` challenge, a refused one its
 * 401/403/431/503, answered here and never passed on. After a handshake the final
 * `WWW-Authenticate` (the mutual-authentication token) and any session cookie are already set
 * on `res` when the next handler runs.
 *
 * Nothing here imports Express: the middleware is typed on node:http, so it fits Express 4 and
 * 5, connect and anything else with the (req, res, next) shape.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdapterIdentity, NegotiateAuthenticator } from '../adapter/index.js';
import { AuthenticatorSource, type NegotiateWrapperOptions } from '../frameworks/AuthenticatorSource.js';

export type { AdapterIdentity, NegotiateAuthenticator } from '../adapter/index.js';
export type { NegotiateWrapperOptions } from '../frameworks/AuthenticatorSource.js';

// Express's Request gets `negotiate` wherever this module is imported. Merging into the global
// `Express` namespace is how @types/express-serve-static-core opens Request for extension; it
// also compiles without @types/express, where it declares an unused namespace.
declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** The client proven by negotiate-server's middleware; set on every request it lets through. */
      negotiate?: AdapterIdentity;
    }
  }
}

/** A request that went through the middleware. */
export type NegotiateRequest = IncomingMessage & { negotiate?: AdapterIdentity };

export interface NegotiateMiddleware {
  (req: NegotiateRequest, res: ServerResponse, next: (err?: unknown) => void): void;
  /**
   * The authenticator behind the middleware. Await it before listening to fail at start (an
   * unreadable keytab) rather than with a 500 on every request.
   */
  readonly ready: Promise<NegotiateAuthenticator>;
  /** Closes the authenticator if this middleware created it; a shared one is left open. */
  close(): Promise<void>;
}

/**
 * Returns the middleware. `options`: the adapter's options (a pool or credentials, cookie
 * sessions, NTLM, ...), or an existing NegotiateAuthenticator (alone or as `{ authenticator }`)
 * to share its pool between several apps. Default: the default keytab.
 */
export function negotiate(options: NegotiateWrapperOptions | NegotiateAuthenticator = {}): NegotiateMiddleware {
  const source = new AuthenticatorSource(options);
  const middleware = (req: NegotiateRequest, res: ServerResponse, next: (err?: unknown) => void): void => {
    void source.ready
      .then(async (authenticator) => ({ authenticator, outcome: await authenticator.authenticate(req, res) }))
      .then(({ authenticator, outcome }) => {
        try {
          // challenge / refused: the whole response; authenticated: its headers only.
          authenticator.apply(outcome, res);
        } catch (err) {
          next(err);
          return;
        }
        if (outcome.kind !== 'authenticated') return;
        req.negotiate = outcome.identity;
        next();
      }, next);
  };
  return Object.assign(middleware, { ready: source.ready, close: () => source.close() });
}
