/**
 * negotiate-server/fastify: a Fastify plugin over the framework-neutral adapter.
 *
 *   await app.register(negotiate, { credentials: { keytab: '/etc/krb5.keytab' } });
 *   app.get('/', async (request) => request.negotiate?.principal);
 *
 * An `onRequest` hook runs the handshake before body parsing (the body is left for Fastify's
 * parsers), sets `request.negotiate`, and answers the 401 challenge or a 401/403/431/503
 * refusal itself through `reply`. After a handshake the final `WWW-Authenticate` (the
 * mutual-authentication token) and any session cookie go out with the route's reply.
 *
 * Scope: the plugin is not encapsulated (fastify-plugin's `skip-override`), so its hook applies
 * to the context that registers it and every context below: registered on the root instance it
 * protects the whole app; registered inside `app.register(async (child) => ...)`, only the
 * routes of that child.
 */
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { AdapterIdentity, NegotiateOutcome } from '../adapter/index.js';
import { AuthenticatorSource, type NegotiateWrapperOptions } from '../frameworks/AuthenticatorSource.js';

export type { AdapterIdentity, NegotiateAuthenticator } from '../adapter/index.js';
export type { NegotiateWrapperOptions } from '../frameworks/AuthenticatorSource.js';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The client proven by negotiate-server's plugin, on every request its hook let through.
     * Outside the plugin's scope (routes of a parent context) it is absent: the decorator is
     * added to the registering context only.
     */
    negotiate?: AdapterIdentity | null;
  }
}

/** The plugin's options: the adapter's, or `{ authenticator }` to share one between apps. */
export type NegotiatePluginOptions = NegotiateWrapperOptions;

// Options Fastify's register() itself reads; they are not the authenticator's.
const kRegisterOptions = new Set(['prefix', 'logLevel', 'logSerializers']);

function authenticatorOptions(options: NegotiatePluginOptions): NegotiatePluginOptions {
  return Object.fromEntries(Object.entries(options).filter(([k]) => !kRegisterOptions.has(k)));
}

/** Sets the outcome's headers on `reply`, repeated names (Set-Cookie) as one array. */
function setHeaders(reply: FastifyReply, headers: NegotiateOutcome['headers']): void {
  const byName = new Map<string, string[]>();
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    byName.set(key, [...(byName.get(key) ?? []), value]);
  }
  for (const [name, values] of byName) reply.header(name, values.length === 1 ? values[0] : values);
}

const plugin: FastifyPluginAsync<NegotiatePluginOptions> = async (fastify, options) => {
  const source = new AuthenticatorSource(authenticatorOptions(options));
  // Fails the app's ready()/listen() when the authenticator cannot be made (e.g. no keytab).
  await source.ready;
  fastify.addHook('onClose', () => source.close());
  // Registered twice in one context (two authenticators), the decorator already exists.
  if (!fastify.hasRequestDecorator('negotiate')) fastify.decorateRequest('negotiate', null);

  fastify.addHook('onRequest', async (request, reply) => {
    const authenticator = await source.ready;
    const outcome = await authenticator.authenticate(request.raw, reply.raw);
    setHeaders(reply, outcome.headers);
    if (outcome.kind === 'authenticated') {
      request.negotiate = outcome.identity;
      return;
    }
    reply.code(outcome.status);
    if (!reply.hasHeader('content-type')) reply.type('text/plain; charset=utf-8');
    // An async hook that answers must return the reply, so Fastify stops the request here.
    return reply.send(outcome.body);
  });
};

/**
 * The plugin, marked as fastify-plugin marks one (without depending on it): not encapsulated,
 * named in Fastify's plugin tree and errors.
 */
export const negotiate = Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'negotiate-server',
});
export default negotiate;
