/**
 * Authorization after authentication: the operator's rules (realms, principals, AD groups) and
 * the application's authorize hook, checked on every front end before any application code
 * (docs/after-authentication.md).
 */
export { Authorizer, ALLOW_ALL, type AuthorizationDecision, type AuthorizerOptions } from './Authorizer.js';
export {
  checkRules,
  compileRules,
  groupSidsOf,
  realmOf,
  type AuthorizationPolicy,
  type AuthorizationRule,
  type AuthorizationRules,
  type RuleRefusal,
} from './rules.js';
export {
  readHookResult,
  type AuthorizeExtra,
  type AuthorizeHook,
  type AuthorizeRefusal,
  type AuthorizeRequest,
  type AuthorizeResult,
} from './hook.js';
export { isPrincipalName, readPrincipalsFile } from './principalsFile.js';
