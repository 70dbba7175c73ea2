/*
 * accept_loop: the C ceiling for the benchmark. How many Kerberos handshakes per second can
 * MIT's gss_accept_sec_context do on this machine with no I/O, no framing and no dispatch?
 *
 *   accept_loop [--threads T] [--rcache default|none|file2:PATH] [--mech spnego|krb5]
 *               [--keytab FILE] [--max-seconds S] [--no-keep-context] [--identity] [TOKENFILE | -]
 *
 * Tokens: records of [u32 little-endian length][token] (tools/tokens.mjs encodeRecords), from
 * TOKENFILE or stdin; all are read before the clock starts. T threads each acquire their OWN
 * acceptor credential (MIT serialises accepts that share one credential handle), wait on a
 * barrier, then take tokens from a shared atomic index until none are left (or --max-seconds
 * passed). A handshake counts when the accept returns GSS_S_COMPLETE with a non-empty output
 * token (the AP-REP: mutual authentication); anything else, e.g. a replayed token rejected by
 * the replay cache, is a failure. --identity also learns who the client is, as any server must:
 * the client name from the accept, gss_display_name, the PAC (gss_get_name_attribute of
 * urn:mspac:logon-info, when the ticket has one) and gss_release_name. Prints one JSON line on
 * stdout:
 *   {"threads":T,"handshakes":N,"failures":F,"seconds":S,"rate":N/S,"cpuSeconds":C}
 * where seconds and cpuSeconds (user+system of the whole process) cover the timed loop only.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5.h>

#include "gss_common.h"

typedef struct {
    uint32_t len;
    unsigned char *data;
} token_t;

static token_t *tokens;
static long ntokens;
static long next_index;           /* atomic work index shared by the threads */
static long handshakes, failures; /* atomic totals */
static int stop_flag;             /* set with __atomic_store_n once any thread passes its deadline */
static double max_seconds = 60;
static pthread_barrier_t barrier;
static const char *keytab, *rcache;
static int use_spnego = 1;
static int want_identity = 0;

/* One acceptor credential per thread, the way the server under test does it. */
static gss_cred_id_t acquire(void) {
    OM_uint32 maj, min;
    gss_key_value_element_desc el[2];
    size_t n = 0;
    if (keytab) {
        el[n].key = "keytab";
        el[n].value = keytab;
        n++;
    }
    if (rcache) {
        el[n].key = "rcache";
        el[n].value = rcache;
        n++;
    }
    gss_key_value_set_desc store = {(OM_uint32)n, el};
    gss_OID_desc both[2] = {spnego_oid, krb5_oid};
    gss_OID_set_desc mechs = {2, both};
    gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
    maj = gss_acquire_cred_from(&min, GSS_C_NO_NAME, GSS_C_INDEFINITE, &mechs, GSS_C_ACCEPT,
                                n ? &store : GSS_C_NO_CRED_STORE, &cred, NULL, NULL);
    if (GSS_ERROR(maj)) gss_fail("accept_loop", "gss_acquire_cred_from", maj, min, &krb5_oid);
    /* SPNEGO accepts only krb5 (no NTLM, no IAKERB), like the servers we compare against. */
    gss_OID_set_desc neg = {1, &krb5_oid};
    maj = gss_set_neg_mechs(&min, cred, &neg);
    if (GSS_ERROR(maj)) gss_fail("accept_loop", "gss_set_neg_mechs", maj, min, &krb5_oid);
    return cred;
}

/* The client's name and PAC, as a server reads them; 0 when the name cannot be displayed. */
static int learn_identity(gss_name_t client) {
    OM_uint32 maj, min;
    gss_buffer_desc display = GSS_C_EMPTY_BUFFER;
    maj = gss_display_name(&min, client, &display, NULL);
    if (GSS_ERROR(maj) || display.length == 0) return 0;
    gss_release_buffer(&min, &display);
    gss_buffer_desc attr = {sizeof "urn:mspac:logon-info" - 1, "urn:mspac:logon-info"};
    gss_buffer_desc value = GSS_C_EMPTY_BUFFER, shown = GSS_C_EMPTY_BUFFER;
    int authenticated = 0, complete = 0, more = -1;
    /* No PAC (a ticket from a KDC that adds none) is not a failure: the name is what counts. */
    maj = gss_get_name_attribute(&min, client, &attr, &authenticated, &complete, &value, &shown, &more);
    if (!GSS_ERROR(maj)) {
        gss_release_buffer(&min, &value);
        gss_release_buffer(&min, &shown);
    }
    return 1;
}

static void *worker(void *arg) {
    (void)arg;
    gss_cred_id_t cred = acquire();
    pthread_barrier_wait(&barrier);
    double deadline = now() + max_seconds; /* each thread's own copy: no shared write */
    long ok = 0, bad = 0, iter = 0;
    for (;;) {
        long i = __atomic_fetch_add(&next_index, 1, __ATOMIC_RELAXED);
        if (i >= ntokens || __atomic_load_n(&stop_flag, __ATOMIC_RELAXED)) break;
        if ((++iter & 255) == 0 && now() > deadline) __atomic_store_n(&stop_flag, 1, __ATOMIC_RELAXED);
        OM_uint32 maj, min;
        gss_ctx_id_t ctx = GSS_C_NO_CONTEXT;
        gss_buffer_desc in = {tokens[i].len, tokens[i].data};
        gss_buffer_desc out = GSS_C_EMPTY_BUFFER;
        gss_name_t client = GSS_C_NO_NAME;
        maj = gss_accept_sec_context(&min, &ctx, cred, &in, GSS_C_NO_CHANNEL_BINDINGS, want_identity ? &client : NULL,
                                     NULL, &out, NULL, NULL, NULL);
        int good = maj == GSS_S_COMPLETE && out.length > 0;
        if (good && want_identity) good = learn_identity(client);
        if (good)
            ok++;
        else
            bad++;
        if (client != GSS_C_NO_NAME) gss_release_name(&min, &client);
        gss_release_buffer(&min, &out);
        if (ctx != GSS_C_NO_CONTEXT) gss_delete_sec_context(&min, &ctx, GSS_C_NO_BUFFER);
    }
    __atomic_fetch_add(&handshakes, ok, __ATOMIC_RELAXED);
    __atomic_fetch_add(&failures, bad, __ATOMIC_RELAXED);
    OM_uint32 min;
    gss_release_cred(&min, &cred);
    return NULL;
}

static int read_all(FILE *f, unsigned char **buf, size_t *len) {
    size_t cap = 1 << 20, n = 0;
    unsigned char *b = malloc(cap);
    if (!b) return -1;
    for (;;) {
        if (n == cap) {
            cap *= 2;
            unsigned char *nb = realloc(b, cap);
            if (!nb) {
                free(b);
                return -1;
            }
            b = nb;
        }
        size_t r = fread(b + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    if (ferror(f)) {
        free(b);
        return -1;
    }
    *buf = b;
    *len = n;
    return 0;
}

int main(int argc, char **argv) {
    int threads = 1, keep_context = 1;
    const char *path = "-";
    keytab = getenv("KRB5_KTNAME");
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--rcache") && i + 1 < argc) {
            const char *r = argv[++i];
            /* MIT 1.20 type names need the colon: "none:", "file2:/path", "dfl:". */
            if (!strcmp(r, "default"))
                rcache = NULL;
            else if (!strcmp(r, "none"))
                rcache = "none:";
            else
                rcache = r;
        } else if (!strcmp(argv[i], "--mech") && i + 1 < argc) {
            const char *m = argv[++i];
            if (!strcmp(m, "spnego"))
                use_spnego = 1;
            else if (!strcmp(m, "krb5"))
                use_spnego = 0;
            else {
                fprintf(stderr, "accept_loop: bad --mech\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "--keytab") && i + 1 < argc)
            keytab = argv[++i];
        else if (!strcmp(argv[i], "--max-seconds") && i + 1 < argc)
            max_seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--no-keep-context"))
            keep_context = 0; /* to measure what it buys */
        else if (!strcmp(argv[i], "--identity"))
            want_identity = 1;
        else if (argv[i][0] != '-' || !strcmp(argv[i], "-"))
            path = argv[i];
        else {
            fprintf(stderr,
                    "usage: accept_loop [--threads T] [--rcache default|none|file2:PATH] "
                    "[--mech spnego|krb5] [--keytab F] [--max-seconds S] [--no-keep-context] "
                    "[--identity] [TOKENFILE|-]\n");
            return 2;
        }
    }
    if (threads < 1 || threads > 256) {
        fprintf(stderr, "accept_loop: bad --threads\n");
        return 2;
    }
    /* The --mech only documents what the tokens are: the credential accepts both, and
     * gss_accept_sec_context picks the mechanism from the token itself. */
    (void)use_spnego;

    /* Held for the life of the process and never freed: while one krb5 context is open, MIT's
     * profile library keeps the parsed krb5.conf cached, so the context MIT creates inside
     * every GSS call only stat()s the file instead of re-parsing it. */
    static krb5_context keep;
    if (keep_context && krb5_init_context(&keep)) {
        fprintf(stderr, "accept_loop: krb5_init_context failed\n");
        return 1;
    }

    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    if (!f) {
        perror("accept_loop: open token file");
        return 1;
    }
    unsigned char *buf;
    size_t len;
    if (read_all(f, &buf, &len)) {
        fprintf(stderr, "accept_loop: read failed\n");
        return 1;
    }
    if (f != stdin) fclose(f);
    long cap = 1024;
    tokens = malloc(cap * sizeof *tokens);
    for (size_t off = 0; off < len;) {
        if (len - off < 4) {
            fprintf(stderr, "accept_loop: truncated record\n");
            return 1;
        }
        uint32_t l = buf[off] | buf[off + 1] << 8 | buf[off + 2] << 16 | (uint32_t)buf[off + 3] << 24;
        off += 4;
        if (l > len - off) {
            fprintf(stderr, "accept_loop: truncated token\n");
            return 1;
        }
        if (ntokens == cap) {
            cap *= 2;
            tokens = realloc(tokens, cap * sizeof *tokens);
        }
        tokens[ntokens].len = l;
        tokens[ntokens].data = buf + off;
        ntokens++;
        off += l;
    }

    pthread_barrier_init(&barrier, NULL, (unsigned)threads + 1);
    pthread_t *tids = calloc((size_t)threads, sizeof *tids);
    for (int i = 0; i < threads; i++) pthread_create(&tids[i], NULL, worker, NULL);
    /* Credentials are acquired before the barrier, outside the clock. */
    pthread_barrier_wait(&barrier);
    double c0 = cpu_now(), t0 = now();
    for (int i = 0; i < threads; i++) pthread_join(tids[i], NULL);
    double s = now() - t0, c = cpu_now() - c0;
    printf("{\"threads\":%d,\"handshakes\":%ld,\"failures\":%ld,\"seconds\":%.4f,\"rate\":%.1f,\"cpuSeconds\":%.4f}\n",
           threads, handshakes, failures, s, s > 0 ? handshakes / s : 0.0, c);
    return 0;
}
