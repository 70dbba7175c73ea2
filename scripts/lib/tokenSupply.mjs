// Fresh Kerberos initiator tokens (distinct AP-REQs, each usable once) in batches, from the
// C generator (tokengen, native/src/tokengen/tokengen.c, through tools/tokens.mjs, shared with the
// bench). Batches rather than all up front: an AP-REQ's authenticator carries a timestamp, and one older than the
// realm's clock skew (5 minutes) would fail for that reason instead of the one being tested.
import { generateTokens } from '../../tools/tokens.mjs';

export class TokenSupply {
  /** @type {Buffer[]} */
  #tokens = [];
  #next = 0;
  /** @type {Promise<void> | undefined} */
  #refill;
  /** @type {Error | undefined} */
  #failure;
  #env;
  #mech;
  #service;
  #batch;
  generated = 0;

  /**
   * @param {{ env: Record<string, string>, mech: 'spnego' | 'krb5', service?: string, batch?: number }} o
   *   env: the realm's environment (KRB5CCNAME with alice's TGT, KRB5_CONFIG).
   */
  constructor(o) {
    this.#env = o.env;
    this.#mech = o.mech;
    this.#service = o.service ?? 'host@localhost';
    this.#batch = o.batch ?? 5000;
  }

  get mech() {
    return this.#mech;
  }

  /** @returns {Promise<Buffer>} a token nobody has used. */
  async take() {
    for (;;) {
      if (this.#failure) throw this.#failure;
      const left = this.#tokens.length - this.#next;
      if (left < this.#batch / 2) this.#startRefill();
      if (left > 0) {
        const t = /** @type {Buffer} */ (this.#tokens[this.#next]);
        // Drop the reference: a used token is only kept by callers that replay it on purpose.
        this.#tokens[this.#next] = /** @type {any} */ (undefined);
        this.#next += 1;
        return t;
      }
      await this.#refill;
    }
  }

  #startRefill() {
    if (this.#refill) return;
    this.#refill = generateTokens({
      env: this.#env,
      mech: this.#mech,
      service: this.#service,
      count: this.#batch,
      parallel: 1,
    })
      .then((fresh) => {
        this.#tokens = [...this.#tokens.slice(this.#next), ...fresh];
        this.#next = 0;
        this.generated += fresh.length;
      })
      .catch((err) => {
        this.#failure = err instanceof Error ? err : new Error(String(err));
      })
      .finally(() => {
        this.#refill = undefined;
      });
  }
}
