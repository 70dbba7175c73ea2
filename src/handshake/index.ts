/**
 * The handshake core every front end shares: the identity a completed handshake proves, the
 * Session built from it, how failures are classified, and how outcomes are reported.
 */
export { identityFromStep, type Frontend, type Mechanism, type ProvenIdentity } from './identity.js';
export { sessionFromStep, type HandshakeConnection } from './sessionFromStep.js';
export { classify, describeFailure, gssStatusFields, type FailureClass, type HandshakeFailure } from './failure.js';
export { HandshakeReporter, type AuthorizationRefusal, type HandshakeAttempt } from './HandshakeReporter.js';
export { HandshakesPerAddress, defaultHandshakesPerAddress, type HandshakeSlot } from './HandshakesPerAddress.js';
