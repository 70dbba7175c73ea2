// Writing a krb5 initiator credential into one named ccache (a delegated TGT, an S4U2Proxy
// evidence credential): the one place that knows which gss_store_cred_into flags that takes.
#ifndef NEGOTIATE_GSS_STORE_CRED_H_
#define NEGOTIATE_GSS_STORE_CRED_H_

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>

#include <string>

namespace negotiate {

// overwrite_cred: the target is a new, empty cache of ours, and without the flag MIT first tries
// to acquire a credential from it and refuses (GSS_S_DUPLICATE_ELEMENT) when that fails.
// default_cred 0: only the ccache named here is written, never the process's default.
inline OM_uint32 StoreKrb5CredInto(OM_uint32* minor, gss_cred_id_t cred,
                                   const std::string& ccache) {
  gss_key_value_element_desc element = {"ccache", ccache.c_str()};
  gss_key_value_set_desc store = {1, &element};
  return gss_store_cred_into(minor, cred, GSS_C_INITIATE, gss_mech_krb5, 1 /* overwrite_cred */,
                             0 /* default_cred */, &store, nullptr /* elements_stored */,
                             nullptr /* cred_usage */);
}

}  // namespace negotiate

#endif  // NEGOTIATE_GSS_STORE_CRED_H_
