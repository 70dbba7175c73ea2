/* Shared by the bench's C programs: mechanism OIDs, fatal GSS error reporting, and the clocks
 * they time themselves with. */
#ifndef BENCH_GSS_COMMON_H
#define BENCH_GSS_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#include <gssapi/gssapi.h>

static gss_OID_desc spnego_oid = {6, (void *)"\x2b\x06\x01\x05\x05\x02"};
static gss_OID_desc krb5_oid = {9, (void *)"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02"};

/* Prints "<prog>: <what> failed: <major text>; <minor text>;" on stderr and exits 1. Each code
 * type gets its own message context (sharing one truncates the messages). */
static void gss_fail(const char *prog, const char *what, OM_uint32 maj, OM_uint32 min, gss_OID mech) {
    OM_uint32 m, ctx = 0;
    gss_buffer_desc msg;
    fprintf(stderr, "%s: %s failed:", prog, what);
    do {
        if (gss_display_status(&m, maj, GSS_C_GSS_CODE, GSS_C_NO_OID, &ctx, &msg) != 0) break;
        fprintf(stderr, " %.*s;", (int)msg.length, (char *)msg.value);
        gss_release_buffer(&m, &msg);
    } while (ctx != 0);
    ctx = 0;
    do {
        if (gss_display_status(&m, min, GSS_C_MECH_CODE, mech, &ctx, &msg) != 0) break;
        fprintf(stderr, " %.*s;", (int)msg.length, (char *)msg.value);
        gss_release_buffer(&m, &msg);
    } while (ctx != 0);
    fputc('\n', stderr);
    exit(1);
}

/* Seconds on a monotonic clock. */
static inline double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU seconds (user + system) of the whole process, all threads. */
static inline double cpu_now(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

#endif
