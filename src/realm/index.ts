/** Throwaway MIT Kerberos realm (k5test-style) for tests, benchmarks and the `realm` CLI. */
export { ThrowawayRealm, type RealmOptions } from './ThrowawayRealm.js';
export { ThrowawayAdDomain, type AdDomainOptions, type ServiceEnctypes } from './ad/ThrowawayAdDomain.js';
export { isAdDomainDir } from './ad/adState.js';
