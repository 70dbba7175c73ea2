/*
 * live_client: a live GSSAPI initiator driving the `sspi` TCP framing (PROTOCOLS.md §1), one
 * full handshake per connection, for mechanisms that cannot be pre-generated (NTLM: the
 * AUTHENTICATE answers the server's CHALLENGE) and, for comparison, Kerberos through the very
 * same client.
 *
 *   live_client --port P [--host 127.0.0.1] [--mech ntlm|spnego-ntlm|krb5|spnego]
 *               [--service host@localhost] [--connections N] [--max-seconds S]
 *               [--max-handshakes H] [--timeout-ms T]
 *
 * Credentials come from the environment, never from argv: NTLM uses NEGOTIATE_NTLM_USER
 * (DOMAIN\user) and NEGOTIATE_PASSWORD (gss_acquire_cred_with_password; the password is never
 * printed), Kerberos the TGT in KRB5CCNAME (copied into a MEMORY ccache per thread, as
 * tokengen does).
 *
 * N threads, each with its own credential, loop: connect; gss_init_sec_context; send
 * [u32 LE len][token]; while the initiator needs more, read the server's frame and step again
 * (raw NTLM: NEGOTIATE, CHALLENGE, AUTHENTICATE, three legs; Kerberos: AP-REQ, AP-REP, the
 * client verifying the AP-REP, i.e. mutual authentication); then read the greeting
 * [u32 LE T][trailer][ciphertext] until the server closes and decrypt it with gss_unwrap of
 * trailer||ciphertext (what examples/sspi_client.py does first). A handshake counts only
 * when the greeting decrypts: the server holds the session key, so it really accepted.
 * Bounded by --max-seconds and --max-handshakes; each socket operation by --timeout-ms.
 *
 * Prints one JSON line on stdout:
 *   {"connections":N,"handshakes":K,"errors":{"kind":n,...},"seconds":S,"rate":R,
 *    "cpuSeconds":C,"latencyMs":{"p50":..,"p90":..,"p99":..,"max":..}}
 * where seconds is up to the last completed handshake and cpuSeconds is this process's own
 * user+system time (the initiator's cost, not the server's). No token bytes are printed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5.h>

#include "gss_common.h"

static gss_OID_desc ntlm_oid = {10, (void *)"\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a"};

enum mech_kind { M_NTLM, M_SPNEGO_NTLM, M_KRB5, M_SPNEGO };
enum err_kind {
    E_CONNECT,
    E_SEND,
    E_INIT,
    E_CLOSED,
    E_TIMEOUT,
    E_TOO_LARGE,
    E_NO_GREETING,
    E_BAD_GREETING,
    E_UNWRAP,
    E_KINDS
};
static const char *err_names[E_KINDS] = {"connectError",  "sendError",  "initFailed",  "closedBeforeReply",   "timeout",
                                         "replyTooLarge", "noGreeting", "badGreeting", "greetingUnwrapFailed"};

#define MAX_FRAME (64 * 1024)
#define MAX_LEGS 8

static struct sockaddr_in addr;
static enum mech_kind mech = M_NTLM;
static const char *service = "host@localhost";
static double max_seconds = 5;
static long max_handshakes = 100000;
static int timeout_ms = 5000;
static long next_index;         /* atomic: handshakes started */
static long total_ok;           /* atomic */
static long total_err[E_KINDS]; /* atomic */
static double last_end;         /* max over threads, set at join */
static pthread_barrier_t barrier;
static double t_start;

static gss_OID mech_oid(void) { return mech == M_NTLM ? &ntlm_oid : mech == M_KRB5 ? &krb5_oid : &spnego_oid; }

/* A per-thread initiator credential. */
static gss_cred_id_t acquire(krb5_context k, krb5_ccache *mem_out) {
    OM_uint32 maj, min;
    gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
    gss_OID m = mech_oid();
    gss_OID_set_desc mechs = {1, m};
    if (mech == M_NTLM || mech == M_SPNEGO_NTLM) {
        const char *user = getenv("NEGOTIATE_NTLM_USER"), *pw = getenv("NEGOTIATE_PASSWORD");
        if (!user || !pw) {
            fprintf(stderr, "live_client: NEGOTIATE_NTLM_USER and NEGOTIATE_PASSWORD must be set\n");
            exit(2);
        }
        gss_buffer_desc ub = {strlen(user), (void *)user}, pb = {strlen(pw), (void *)pw};
        gss_name_t name;
        maj = gss_import_name(&min, &ub, GSS_C_NT_USER_NAME, &name);
        if (GSS_ERROR(maj)) gss_fail("live_client", "gss_import_name(user)", maj, min, GSS_C_NO_OID);
        maj = gss_acquire_cred_with_password(&min, name, &pb, GSS_C_INDEFINITE, &mechs, GSS_C_INITIATE, &cred, NULL,
                                             NULL);
        if (GSS_ERROR(maj)) gss_fail("live_client", "gss_acquire_cred_with_password", maj, min, m);
        gss_release_name(&min, &name);
        if (mech == M_SPNEGO_NTLM) {
            gss_OID_set_desc neg = {1, &ntlm_oid};
            maj = gss_set_neg_mechs(&min, cred, &neg);
            if (GSS_ERROR(maj)) gss_fail("live_client", "gss_set_neg_mechs", maj, min, m);
        }
        return cred;
    }
    /* Kerberos: alice's TGT copied into this thread's own MEMORY ccache. */
    krb5_error_code kc;
    krb5_ccache src, mem;
    krb5_principal client;
    if ((kc = krb5_cc_default(k, &src)) || (kc = krb5_cc_new_unique(k, "MEMORY", NULL, &mem)) ||
        (kc = krb5_cc_get_principal(k, src, &client)) || (kc = krb5_cc_initialize(k, mem, client)) ||
        (kc = krb5_cc_copy_creds(k, src, mem))) {
        const char *msg = krb5_get_error_message(k, kc);
        fprintf(stderr, "live_client: copying the TGT into a MEMORY ccache failed (is KRB5CCNAME set?): %s\n", msg);
        exit(1);
    }
    krb5_free_principal(k, client);
    krb5_cc_close(k, src);
    char memname[256];
    snprintf(memname, sizeof memname, "MEMORY:%s", krb5_cc_get_name(k, mem));
    gss_key_value_element_desc el = {"ccache", memname};
    gss_key_value_set_desc store = {1, &el};
    maj =
        gss_acquire_cred_from(&min, GSS_C_NO_NAME, GSS_C_INDEFINITE, &mechs, GSS_C_INITIATE, &store, &cred, NULL, NULL);
    if (GSS_ERROR(maj)) gss_fail("live_client", "gss_acquire_cred_from", maj, min, m);
    if (mech == M_SPNEGO) {
        gss_OID_set_desc neg = {1, &krb5_oid};
        maj = gss_set_neg_mechs(&min, cred, &neg);
        if (GSS_ERROR(maj)) gss_fail("live_client", "gss_set_neg_mechs", maj, min, m);
    }
    *mem_out = mem;
    return cred;
}

static int send_all(int fd, const void *p, size_t n) {
    const unsigned char *b = p;
    while (n > 0) {
        ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads exactly n bytes. 0 ok, E_CLOSED on EOF, E_TIMEOUT, or E_CLOSED on other errors. */
static int recv_exact(int fd, unsigned char *b, size_t n) {
    while (n > 0) {
        ssize_t r = recv(fd, b, n, 0);
        if (r == 0) return E_CLOSED;
        if (r < 0) {
            if (errno == EINTR) continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? E_TIMEOUT : E_CLOSED;
        }
        b += r;
        n -= (size_t)r;
    }
    return 0;
}

static int send_frame(int fd, const gss_buffer_desc *t) {
    unsigned char hdr[4] = {t->length & 0xff, (t->length >> 8) & 0xff, (t->length >> 16) & 0xff,
                            (uint32_t)t->length >> 24};
    return send_all(fd, hdr, 4) || send_all(fd, t->value, t->length) ? E_SEND : 0;
}

/* One handshake on a fresh connection. Returns -1 on success, else an err_kind. */
static int handshake(gss_cred_id_t cred, gss_name_t target, unsigned char *buf) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return E_CONNECT;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    int result = -1;
    OM_uint32 maj, min;
    gss_ctx_id_t ctx = GSS_C_NO_CONTEXT;
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
        close(fd);
        return E_CONNECT;
    }
    OM_uint32 flags = GSS_C_MUTUAL_FLAG | GSS_C_REPLAY_FLAG | GSS_C_SEQUENCE_FLAG | GSS_C_INTEG_FLAG | GSS_C_CONF_FLAG;
    gss_buffer_desc in = GSS_C_EMPTY_BUFFER;
    int legs = 0;
    for (;;) {
        gss_buffer_desc out = GSS_C_EMPTY_BUFFER;
        maj = gss_init_sec_context(&min, cred, &ctx, target, mech_oid(), flags, 0, GSS_C_NO_CHANNEL_BINDINGS,
                                   in.length ? &in : GSS_C_NO_BUFFER, NULL, &out, NULL, NULL);
        if (GSS_ERROR(maj)) {
            gss_release_buffer(&min, &out);
            result = E_INIT;
            goto done;
        }
        if (out.length > 0) {
            int e = send_frame(fd, &out);
            gss_release_buffer(&min, &out);
            if (e) {
                result = e;
                goto done;
            }
        }
        if (maj == GSS_S_COMPLETE) break;
        if (++legs > MAX_LEGS) {
            result = E_INIT;
            goto done;
        }
        unsigned char hdr[4];
        int e = recv_exact(fd, hdr, 4);
        if (e) {
            result = e;
            goto done;
        }
        uint32_t len = hdr[0] | hdr[1] << 8 | hdr[2] << 16 | (uint32_t)hdr[3] << 24;
        if (len == 0 || len > MAX_FRAME) {
            result = len ? E_TOO_LARGE : E_INIT;
            goto done;
        }
        e = recv_exact(fd, buf, len);
        if (e) {
            result = e;
            goto done;
        }
        in.length = len;
        in.value = buf;
    }
    /* The greeting: everything until the server closes. */
    size_t got = 0;
    for (;;) {
        if (got == MAX_FRAME) {
            result = E_TOO_LARGE;
            goto done;
        }
        ssize_t r = recv(fd, buf + got, MAX_FRAME - got, 0);
        if (r == 0) break;
        if (r < 0) {
            if (errno == EINTR) continue;
            result = errno == EAGAIN || errno == EWOULDBLOCK ? E_TIMEOUT : E_NO_GREETING;
            goto done;
        }
        got += (size_t)r;
    }
    if (got < 5) {
        result = E_NO_GREETING;
        goto done;
    }
    uint32_t tlen = buf[0] | buf[1] << 8 | buf[2] << 16 | (uint32_t)buf[3] << 24;
    if (tlen > got - 4) {
        result = E_BAD_GREETING;
        goto done;
    }
    gss_buffer_desc wrapped = {got - 4, buf + 4}, plain = GSS_C_EMPTY_BUFFER;
    int conf = 0;
    maj = gss_unwrap(&min, ctx, &wrapped, &plain, &conf, NULL);
    if (GSS_ERROR(maj) || plain.length == 0) result = E_UNWRAP;
    gss_release_buffer(&min, &plain);
done:
    if (ctx != GSS_C_NO_CONTEXT) gss_delete_sec_context(&min, &ctx, GSS_C_NO_BUFFER);
    close(fd);
    return result;
}

typedef struct {
    double *lat; /* ms, one per successful handshake (grown as needed) */
    long nlat, cap;
    double last_end;
} thread_state;

static void *worker(void *arg) {
    thread_state *st = arg;
    krb5_context k;
    if (krb5_init_context(&k)) {
        fprintf(stderr, "live_client: krb5_init_context failed\n");
        exit(1);
    }
    krb5_ccache mem = NULL;
    gss_cred_id_t cred = acquire(k, &mem);
    OM_uint32 maj, min;
    gss_buffer_desc nb = {strlen(service), (void *)service};
    gss_name_t target;
    maj = gss_import_name(&min, &nb, GSS_C_NT_HOSTBASED_SERVICE, &target);
    if (GSS_ERROR(maj)) gss_fail("live_client", "gss_import_name(service)", maj, min, GSS_C_NO_OID);
    {
        /* Warm-up outside the clock: the first Kerberos init fetches the service ticket from
         * the KDC (then cached in this thread's ccache). */
        gss_ctx_id_t ctx = GSS_C_NO_CONTEXT;
        gss_buffer_desc out = GSS_C_EMPTY_BUFFER;
        maj = gss_init_sec_context(&min, cred, &ctx, target, mech_oid(), GSS_C_MUTUAL_FLAG, 0,
                                   GSS_C_NO_CHANNEL_BINDINGS, GSS_C_NO_BUFFER, NULL, &out, NULL, NULL);
        if (GSS_ERROR(maj)) gss_fail("live_client", "gss_init_sec_context (warm-up)", maj, min, mech_oid());
        gss_release_buffer(&min, &out);
        gss_delete_sec_context(&min, &ctx, GSS_C_NO_BUFFER);
    }
    unsigned char *buf = malloc(MAX_FRAME);
    long local_err[E_KINDS] = {0};
    long ok = 0;
    pthread_barrier_wait(&barrier); /* credentials ready */
    pthread_barrier_wait(&barrier); /* t_start set */
    double deadline = t_start + max_seconds;
    for (;;) {
        if (now() >= deadline) break;
        long i = __atomic_fetch_add(&next_index, 1, __ATOMIC_RELAXED);
        if (i >= max_handshakes) break;
        double t0 = now();
        int r = handshake(cred, target, buf);
        double t1 = now();
        st->last_end = t1;
        if (r < 0) {
            ok++;
            if (st->nlat == st->cap) {
                long cap = st->cap ? st->cap * 2 : 1024;
                double *l = realloc(st->lat, (size_t)cap * sizeof(double));
                if (!l) {
                    fprintf(stderr, "live_client: out of memory\n");
                    exit(1);
                }
                st->lat = l;
                st->cap = cap;
            }
            st->lat[st->nlat++] = (t1 - t0) * 1000;
        } else {
            local_err[r]++;
        }
    }
    __atomic_fetch_add(&total_ok, ok, __ATOMIC_RELAXED);
    for (int e = 0; e < E_KINDS; e++) __atomic_fetch_add(&total_err[e], local_err[e], __ATOMIC_RELAXED);
    free(buf);
    gss_release_name(&min, &target);
    gss_release_cred(&min, &cred);
    if (mem) krb5_cc_destroy(k, mem);
    krb5_free_context(k);
    return NULL;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1";
    int port = 0, connections = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--host") && i + 1 < argc)
            host = argv[++i];
        else if (!strcmp(argv[i], "--port") && i + 1 < argc)
            port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--service") && i + 1 < argc)
            service = argv[++i];
        else if (!strcmp(argv[i], "--connections") && i + 1 < argc)
            connections = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--max-seconds") && i + 1 < argc)
            max_seconds = atof(argv[++i]);
        else if (!strcmp(argv[i], "--max-handshakes") && i + 1 < argc)
            max_handshakes = atol(argv[++i]);
        else if (!strcmp(argv[i], "--timeout-ms") && i + 1 < argc)
            timeout_ms = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--mech") && i + 1 < argc) {
            const char *m = argv[++i];
            if (!strcmp(m, "ntlm"))
                mech = M_NTLM;
            else if (!strcmp(m, "spnego-ntlm"))
                mech = M_SPNEGO_NTLM;
            else if (!strcmp(m, "krb5"))
                mech = M_KRB5;
            else if (!strcmp(m, "spnego"))
                mech = M_SPNEGO;
            else {
                fprintf(stderr, "live_client: bad --mech\n");
                return 2;
            }
        } else {
            fprintf(stderr,
                    "usage: live_client --port P [--host H] [--mech ntlm|spnego-ntlm|krb5|spnego] [--service svc@host] "
                    "[--connections N] [--max-seconds S] [--max-handshakes H] [--timeout-ms T]\n");
            return 2;
        }
    }
    if (port <= 0 || port > 65535 || connections < 1 || connections > 1024 || max_seconds <= 0 || max_seconds > 600 ||
        max_handshakes < 1 || max_handshakes > 10000000 || timeout_ms < 1 || timeout_ms > 60000) {
        fprintf(stderr, "live_client: bad arguments\n");
        return 2;
    }
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "live_client: --host must be an IPv4 address\n");
        return 2;
    }

    pthread_barrier_init(&barrier, NULL, (unsigned)connections + 1);
    pthread_t *tids = calloc((size_t)connections, sizeof *tids);
    thread_state *st = calloc((size_t)connections, sizeof *st);
    for (int i = 0; i < connections; i++) pthread_create(&tids[i], NULL, worker, &st[i]);
    /* Credentials are acquired before the first barrier, outside the clock; the clock starts
     * between the two barriers, so every thread reads the final t_start. */
    pthread_barrier_wait(&barrier);
    t_start = now();
    double c0 = cpu_now();
    pthread_barrier_wait(&barrier);
    for (int i = 0; i < connections; i++) pthread_join(tids[i], NULL);
    double c = cpu_now() - c0;
    long nlat = 0;
    for (int i = 0; i < connections; i++) {
        nlat += st[i].nlat;
        if (st[i].last_end > last_end) last_end = st[i].last_end;
    }
    double *all = malloc((size_t)(nlat ? nlat : 1) * sizeof(double));
    long off = 0;
    for (int i = 0; i < connections; i++) {
        memcpy(all + off, st[i].lat, (size_t)st[i].nlat * sizeof(double));
        off += st[i].nlat;
    }
    qsort(all, (size_t)nlat, sizeof(double), cmp_double);
#define PCT(p) (nlat ? all[(long)((p) / 100.0 * (nlat - 1) + 0.5)] : 0.0)
    double s = last_end > t_start ? last_end - t_start : 0;
    printf("{\"connections\":%d,\"handshakes\":%ld,\"errors\":{", connections, total_ok);
    int first = 1;
    for (int e = 0; e < E_KINDS; e++) {
        if (!total_err[e]) continue;
        printf("%s\"%s\":%ld", first ? "" : ",", err_names[e], total_err[e]);
        first = 0;
    }
    printf(
        "},\"seconds\":%.4f,\"rate\":%.1f,\"cpuSeconds\":%.4f,\"latencyMs\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,"
        "\"max\":%.3f}}\n",
        s, s > 0 ? total_ok / s : 0.0, c, PCT(50), PCT(90), PCT(99), nlat ? all[nlat - 1] : 0.0);
    return 0;
}
