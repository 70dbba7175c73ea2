/**
 * The methods each protected pattern answers, and their routes on the uWS app: `any` when
 * the route takes every method, else one route per listed method and an `any` on the same
 * pattern that answers the others with 405 (uWS prefers a method's own route to `any`).
 */
import type { HttpRequest, HttpResponse, TemplatedApp } from 'uwebsockets';
import { ConfigError } from '../errors.js';
import { HTTP_METHODS, type HttpMethod, type PreflightHandler, type ProtectedHandler } from './httpOptions.js';

/** What one protected route needs at request time. */
export interface Route {
  readonly handler: ProtectedHandler;
  /** How many `:name` parameters its pattern has. */
  readonly params: number;
  readonly maxBodyBytes: number;
  readonly preflight: PreflightHandler | undefined;
}

type UwsHandler = (res: HttpResponse, req: HttpRequest) => void;

function register(app: TemplatedApp, method: HttpMethod, pattern: string, handler: UwsHandler): void {
  switch (method) {
    case 'get':
      app.get(pattern, handler);
      break;
    case 'head':
      app.head(pattern, handler);
      break;
    case 'post':
      app.post(pattern, handler);
      break;
    case 'put':
      app.put(pattern, handler);
      break;
    case 'delete':
      app.del(pattern, handler);
      break;
    case 'patch':
      app.patch(pattern, handler);
      break;
    case 'options':
      app.options(pattern, handler);
      break;
  }
}

/**
 * The methods a route lists, completed as HTTP wants: GET brings HEAD (RFC 9110 §9.3.2),
 * a preflight handler brings OPTIONS. Undefined: every method.
 */
export function routeMethods(
  listed: readonly HttpMethod[] | undefined,
  hasPreflight: boolean,
): ReadonlySet<HttpMethod> | undefined {
  if (listed === undefined) return undefined;
  if (listed.length === 0) throw new ConfigError('ERR_CONFIG', 'protect(): methods must list at least one method');
  const methods = new Set<HttpMethod>();
  for (const m of listed) {
    if (!(HTTP_METHODS as readonly string[]).includes(m)) {
      throw new ConfigError('ERR_CONFIG', `protect(): unknown method ${String(m)}; known: ${HTTP_METHODS.join(', ')}`);
    }
    methods.add(m);
  }
  if (methods.has('get')) methods.add('head');
  if (hasPreflight) methods.add('options');
  return methods;
}

/** The `Allow` header for `methods`. */
export function allowHeader(methods: ReadonlySet<HttpMethod>): string {
  return HTTP_METHODS.filter((m) => methods.has(m))
    .map((m) => m.toUpperCase())
    .join(', ');
}

export class ProtectedRoutes {
  readonly #app: TemplatedApp;
  readonly #notAllowed: (res: HttpResponse, req: HttpRequest, allow: string) => void;
  readonly #byPattern = new Map<string, Set<HttpMethod> | 'any'>();

  /** `notAllowed` answers a method the pattern does not take (405 with `allow`). */
  constructor(app: TemplatedApp, notAllowed: (res: HttpResponse, req: HttpRequest, allow: string) => void) {
    this.#app = app;
    this.#notAllowed = notAllowed;
  }

  /**
   * Routes `methods` (undefined: all) of `pattern` to `handler`. A method already protected on
   * the same pattern is ERR_CONFIG: uWS would keep the first handler without a word.
   */
  add(pattern: string, methods: ReadonlySet<HttpMethod> | undefined, handler: UwsHandler): void {
    const taken = this.#byPattern.get(pattern);
    const overlap =
      taken === 'any' || (taken !== undefined && (methods === undefined || [...methods].some((m) => taken.has(m))));
    if (overlap) throw new ConfigError('ERR_CONFIG', `protect(): ${pattern} is already protected for these methods`);
    if (methods === undefined) {
      this.#byPattern.set(pattern, 'any');
      this.#app.any(pattern, handler);
      return;
    }
    for (const m of methods) register(this.#app, m, pattern, handler);
    if (taken !== undefined) {
      for (const m of methods) taken.add(m);
      return;
    }
    const all = new Set(methods);
    this.#byPattern.set(pattern, all);
    this.#app.any(pattern, (res, req) => this.#notAllowed(res, req, allowHeader(all)));
  }
}
