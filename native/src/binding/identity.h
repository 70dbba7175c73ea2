// The N-API edge of IdentityOptions/IdentityOutcome: read from acquireCredentials' options,
// written onto a completed accept's result.
#ifndef NEGOTIATE_BINDING_IDENTITY_H_
#define NEGOTIATE_BINDING_IDENTITY_H_

#include <napi.h>

#include "../identity/identity.h"

namespace negotiate {

// Reads `localName`, `servicePrincipal` (booleans) and `delegationDir` (an absolute path) from
// `opts`. On a wrong type throws a TypeError and returns false.
bool ReadIdentityOptions(Napi::Object opts, IdentityOptions* out);

// Sets `localName`, `localNameRefused`, `servicePrincipal`, `delegated: { path, lifetime, kind }`
// and `delegationRefused` on `result`, each only when there is one.
void SetIdentityFields(Napi::Env env, Napi::Object result, const IdentityOutcome& identity);

}  // namespace negotiate

#endif  // NEGOTIATE_BINDING_IDENTITY_H_
