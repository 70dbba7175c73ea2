/** Throwaway MIT Kerberos realm (k5test-style) for tests, benchmarks and the `realm` CLI. */
export { ThrowawayRealm, type RealmOptions } from './ThrowawayRealm.js';
