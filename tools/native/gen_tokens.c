/*
 * gen_tokens: pre-generates fresh Kerberos initiator first tokens (AP-REQs) for the
 * benchmark, so the load generators never spend CPU on the client side of a handshake.
 *
 *   gen_tokens --service HTTP@localhost --mech spnego|krb5 --count N > tokens.bin
 *
 * Output: N records of [u32 little-endian length][token bytes] on stdout. A summary JSON
 * line goes to stderr ({"tokens":N,"seconds":S,"rate":R}); never the tokens themselves.
 *
 * Each token comes from its own gss_init_sec_context call (mutual + replay + integ + conf
 * requested, like gss-client and browsers with mutual auth), so each carries a fresh
 * authenticator (new timestamp, sequence number and random subkey): distinct, and usable
 * exactly once against a replay cache. The TGT in KRB5CCNAME is copied into a MEMORY ccache
 * first, so the one service-ticket fetch from the KDC is cached in memory and later calls
 * never touch the disk (and never write to the user's ccache).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5.h>

#include "gss_common.h"


static void krb_fail(krb5_context k, const char *what, krb5_error_code code) {
    const char *m = krb5_get_error_message(k, code);
    fprintf(stderr, "gen_tokens: %s failed: %s\n", what, m);
    krb5_free_error_message(k, m);
    exit(1);
}

/* Buffered writer: one write(2) per ~1 MiB instead of per token. */
static unsigned char obuf[1 << 20];
static size_t olen;
static void flush_out(void) {
    size_t off = 0;
    while (off < olen) {
        ssize_t w = write(1, obuf + off, olen - off);
        if (w < 0) {
            if (errno == EINTR) continue;
            perror("gen_tokens: write");
            exit(1);
        }
        off += (size_t)w;
    }
    olen = 0;
}
static void put(const void *p, size_t n) {
    if (n > sizeof(obuf)) { fprintf(stderr, "gen_tokens: token too large\n"); exit(1); }
    if (olen + n > sizeof(obuf)) flush_out();
    memcpy(obuf + olen, p, n);
    olen += n;
}

int main(int argc, char **argv) {
    const char *service = "HTTP@localhost", *mechname = "spnego";
    long count = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--service") && i + 1 < argc) service = argv[++i];
        else if (!strcmp(argv[i], "--mech") && i + 1 < argc) mechname = argv[++i];
        else if (!strcmp(argv[i], "--count") && i + 1 < argc) count = strtol(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: gen_tokens [--service svc@host] [--mech spnego|krb5] [--count N]\n");
            return 2;
        }
    }
    int spnego = !strcmp(mechname, "spnego");
    if (!spnego && strcmp(mechname, "krb5")) { fprintf(stderr, "gen_tokens: bad --mech\n"); return 2; }
    if (count < 0 || count > 10000000) { fprintf(stderr, "gen_tokens: bad --count\n"); return 2; }

    /* Copy alice's TGT into a per-process MEMORY ccache. */
    krb5_context k;
    krb5_error_code kc = krb5_init_context(&k);
    if (kc) { fprintf(stderr, "gen_tokens: krb5_init_context failed\n"); return 1; }
    krb5_ccache src, mem;
    if ((kc = krb5_cc_default(k, &src))) krb_fail(k, "krb5_cc_default", kc);
    if ((kc = krb5_cc_new_unique(k, "MEMORY", NULL, &mem))) krb_fail(k, "krb5_cc_new_unique", kc);
    krb5_principal client;
    if ((kc = krb5_cc_get_principal(k, src, &client))) krb_fail(k, "krb5_cc_get_principal (is KRB5CCNAME set?)", kc);
    if ((kc = krb5_cc_initialize(k, mem, client))) krb_fail(k, "krb5_cc_initialize", kc);
    if ((kc = krb5_cc_copy_creds(k, src, mem))) krb_fail(k, "krb5_cc_copy_creds", kc);
    krb5_free_principal(k, client);
    krb5_cc_close(k, src);
    char memname[256];
    snprintf(memname, sizeof memname, "MEMORY:%s", krb5_cc_get_name(k, mem));
    /* keep `mem` and `k` open: closing the last handle of a MEMORY ccache keeps it, but an
     * open krb5 context also keeps the parsed profile cached for the gss calls below. */

    OM_uint32 maj, min;
    gss_OID mech = spnego ? &spnego_oid : &krb5_oid;
    gss_OID_set_desc mechs = {1, mech};
    gss_key_value_element_desc el = {"ccache", memname};
    gss_key_value_set_desc store = {1, &el};
    gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
    maj = gss_acquire_cred_from(&min, GSS_C_NO_NAME, GSS_C_INDEFINITE, &mechs, GSS_C_INITIATE,
                                &store, &cred, NULL, NULL);
    if (GSS_ERROR(maj)) gss_fail("gen_tokens", "gss_acquire_cred_from", maj, min, mech);
    if (spnego) {
        /* Offer only krb5 inside SPNEGO (not IAKERB or the legacy krb5 OIDs): what browsers
         * and the servers under test negotiate. */
        gss_OID_set_desc neg = {1, &krb5_oid};
        maj = gss_set_neg_mechs(&min, cred, &neg);
        if (GSS_ERROR(maj)) gss_fail("gen_tokens", "gss_set_neg_mechs", maj, min, mech);
    }

    gss_buffer_desc nb = {strlen(service), (void *)service};
    gss_name_t target;
    maj = gss_import_name(&min, &nb, GSS_C_NT_HOSTBASED_SERVICE, &target);
    if (GSS_ERROR(maj)) gss_fail("gen_tokens", "gss_import_name", maj, min, GSS_C_NO_OID);

    OM_uint32 flags = GSS_C_MUTUAL_FLAG | GSS_C_REPLAY_FLAG | GSS_C_INTEG_FLAG | GSS_C_CONF_FLAG;
    double t0 = now();
    for (long i = 0; i < count; i++) {
        gss_ctx_id_t ctx = GSS_C_NO_CONTEXT;
        gss_buffer_desc out = GSS_C_EMPTY_BUFFER;
        maj = gss_init_sec_context(&min, cred, &ctx, target, mech, flags, 0,
                                   GSS_C_NO_CHANNEL_BINDINGS, GSS_C_NO_BUFFER, NULL, &out,
                                   NULL, NULL);
        if (GSS_ERROR(maj)) gss_fail("gen_tokens", "gss_init_sec_context", maj, min, mech);
        /* With mutual auth the context waits for the AP-REP; we only want the AP-REQ. */
        if (maj != GSS_S_CONTINUE_NEEDED || out.length == 0) {
            fprintf(stderr, "gen_tokens: unexpected init status %u (len %zu)\n", maj, out.length);
            return 1;
        }
        uint32_t len = (uint32_t)out.length;
        unsigned char le[4] = {len & 0xff, (len >> 8) & 0xff, (len >> 16) & 0xff, len >> 24};
        put(le, 4);
        put(out.value, out.length);
        gss_release_buffer(&min, &out);
        gss_delete_sec_context(&min, &ctx, GSS_C_NO_BUFFER);
    }
    flush_out();
    double s = now() - t0;
    fprintf(stderr, "{\"tokens\":%ld,\"seconds\":%.3f,\"rate\":%.0f}\n", count, s, s > 0 ? count / s : 0.0);
    gss_release_name(&min, &target);
    gss_release_cred(&min, &cred);
    krb5_cc_destroy(k, mem);
    return 0;
}
