/**
 * The `/whoami` answer of the built-in HTTP route, one shape on the uWS and node engines: the
 * proven identity as JSON, with `localName`, `pac` and the authorize hook's `extra` when the
 * identity has them. Never the delegated ccache's path (a file name of the user's keys).
 */
import type { ProvenIdentity } from '../handshake/identity.js';

/**
 * The /whoami JSON of `identity`: principal, mech, spnego, flags, via, then localName, pac and
 * extra when present. Built as text, without an intermediate object (answered once per handshake).
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
