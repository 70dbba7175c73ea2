/**
 * The `/whoami` answer of the built-in HTTP route, one shape on the uWS and node engines: the
 * proven identity as JSON, with `localName`, `pac` and the authorize hook's `extra` when the
 * identity has them. Never the delegated ccache's path (a file name of the user's keys).
 */
import type { ProvenIdentity } from '../handshake/identity.js';

/** The /whoami JSON of `identity`. */
export function whoamiBody(identity: ProvenIdentity & { via: 'negotiate' | 'basic' | 'cookie' }): object {
  const { principal, mech, spnego, flags, via, pac, localName, extra } = identity;
  return {
    principal,
    mech,
    spnego,
    flags,
    via,
    ...(localName !== undefined ? { localName } : {}),
    ...(pac !== undefined ? { pac } : {}),
    ...(extra !== undefined ? { extra } : {}),
  };
}

/**
 * `JSON.stringify(whoamiBody(identity))`, the same text, built without the intermediate object
 * (the HTTP front end answers it once per handshake).
 */
export function whoamiJson(identity: ProvenIdentity & { via: 'negotiate' | 'basic' | 'cookie' }): string {
  const { principal, mech, spnego, flags, via, pac, localName, extra } = identity;
  let json =
    `{"principal":${JSON.stringify(principal)},"mech":${JSON.stringify(mech)},"spnego":${JSON.stringify(spnego)},` +
    `"flags":${JSON.stringify(flags)},"via":${JSON.stringify(via)}`;
  if (localName !== undefined) json += `,"localName":${JSON.stringify(localName)}`;
  if (pac !== undefined) json += `,"pac":${JSON.stringify(pac)}`;
  if (extra !== undefined) json += `,"extra":${JSON.stringify(extra)}`;
  return `${json}}`;
}
