/*
 * tokengen: fresh Kerberos initiator tokens on demand, for `negotiate-server loadgen`.
 *
 *   tokengen --service HTTP@host [--mech spnego|krb5]
 *
 * Credentials: the TGT in the user's ticket cache (KRB5CCNAME, else the default), copied
 * once into a MEMORY ccache so the one service-ticket fetch is cached in memory and the
 * user's ccache is never written. Each token comes from its own gss_init_sec_context
 * (mutual + replay + integ + conf requested): a fresh authenticator, usable exactly once.
 *
 * A line protocol, one answer per request, in request order (the caller pipelines):
 *   start-up                -> "ready"             (the service ticket was obtained)
 *   "n COUNT\n"             -> COUNT lines "<base64 token>"   (contexts dropped at once)
 *   "k\n"                   -> "<id> <base64 token>"         (context kept for "v")
 *   "v ID <base64 reply>\n" -> "ok ID" when the reply completes the context with mutual
 *                              authentication, else "fail ID <reason>"; the context is freed
 *   "d ID\n"                -> no answer; frees a kept context (the handshake failed)
 * A request that cannot be served is answered by one line "! <reason>" instead. End of stdin
 * ends the program, which then prints {"cpuSeconds":S,"tokens":N} on stderr.
 * Token bytes never go anywhere but stdout.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <gssapi/gssapi.h>
#include <gssapi/gssapi_ext.h>
#include <gssapi/gssapi_krb5.h>
#include <krb5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static gss_OID_desc spnego_oid = {6, (void *)"\x2b\x06\x01\x05\x05\x02"};
static gss_OID_desc krb5_oid = {9, (void *)"\x2a\x86\x48\x86\xf7\x12\x01\x02\x02"};

/* Kept contexts: bounded, so a caller that never verifies cannot grow us without limit. */
#define MAX_KEPT 4096
#define MAX_BATCH 100000
#define MAX_LINE (256 * 1024)

static gss_ctx_id_t kept[MAX_KEPT];
static gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
static gss_name_t target = GSS_C_NO_NAME;
static gss_OID mech;
static long tokens_made;
static const OM_uint32 kFlags =
    GSS_C_MUTUAL_FLAG | GSS_C_REPLAY_FLAG | GSS_C_INTEG_FLAG | GSS_C_CONF_FLAG;

/* Output: one buffer, written when a read's worth of requests has been answered. */
static char *obuf;
static size_t olen, ocap;

static void ensure(size_t more) {
  if (olen + more <= ocap) return;
  size_t cap = ocap ? ocap : 1 << 16;
  while (cap < olen + more) cap *= 2;
  char *b = realloc(obuf, cap);
  if (!b) {
    fputs("tokengen: out of memory\n", stderr);
    exit(1);
  }
  obuf = b;
  ocap = cap;
}

static void put(const char *s, size_t n) {
  ensure(n);
  memcpy(obuf + olen, s, n);
  olen += n;
}

static void puts_out(const char *s) { put(s, strlen(s)); }

static void flush_out(void) {
  size_t off = 0;
  while (off < olen) {
    ssize_t w = write(1, obuf + off, olen - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      exit(0); /* the reader went away: nothing left to serve */
    }
    off += (size_t)w;
  }
  olen = 0;
}

static const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void put_base64(const unsigned char *p, size_t n) {
  ensure((n + 2) / 3 * 4);
  char *o = obuf + olen;
  size_t i = 0;
  for (; i + 2 < n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
    *o++ = kB64[v >> 18];
    *o++ = kB64[(v >> 12) & 63];
    *o++ = kB64[(v >> 6) & 63];
    *o++ = kB64[v & 63];
  }
  if (i < n) {
    uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
    *o++ = kB64[v >> 18];
    *o++ = kB64[(v >> 12) & 63];
    *o++ = i + 1 < n ? kB64[(v >> 6) & 63] : '=';
    *o++ = '=';
  }
  olen = (size_t)(o - obuf);
}

/* Decodes base64 in place; returns the length, or -1 when `s` is not base64. */
static long base64_decode(char *s) {
  size_t n = strlen(s), out = 0;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '+')
      v = 62;
    else if (c == '/')
      v = 63;
    else if (c == '=')
      break;
    else
      return -1;
    acc = acc << 6 | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      s[out++] = (char)((acc >> bits) & 0xff);
    }
  }
  return (long)out;
}

/* "<major text>; <minor text>" into buf. Each code type gets its own message context. */
static void status_text(OM_uint32 maj, OM_uint32 min, char *buf, size_t cap) {
  OM_uint32 m, ctx = 0;
  gss_buffer_desc msg;
  size_t len = 0;
  buf[0] = '\0';
  int types[2] = {GSS_C_GSS_CODE, GSS_C_MECH_CODE};
  OM_uint32 codes[2] = {maj, min};
  for (int t = 0; t < 2; t++) {
    ctx = 0;
    do {
      if (gss_display_status(&m, codes[t], types[t], t ? mech : GSS_C_NO_OID, &ctx, &msg) != 0)
        break;
      int w = snprintf(buf + len, cap - len, "%s%.*s", len ? "; " : "", (int)msg.length,
                       (char *)msg.value);
      gss_release_buffer(&m, &msg);
      if (w < 0 || (size_t)w >= cap - len) return;
      len += (size_t)w;
    } while (ctx != 0);
  }
  for (char *c = buf; *c; c++)
    if (*c == '\n') *c = ' ';
}

/* One first token; the context is returned in *ctx (the caller keeps or deletes it). */
static int first_token(gss_ctx_id_t *ctx, gss_buffer_desc *out, char *err, size_t cap) {
  OM_uint32 min;
  *ctx = GSS_C_NO_CONTEXT;
  OM_uint32 maj =
      gss_init_sec_context(&min, cred, ctx, target, mech, kFlags, 0, GSS_C_NO_CHANNEL_BINDINGS,
                           GSS_C_NO_BUFFER, NULL, out, NULL, NULL);
  if (GSS_ERROR(maj)) {
    status_text(maj, min, err, cap);
    gss_release_buffer(&min, out);
    if (*ctx != GSS_C_NO_CONTEXT) gss_delete_sec_context(&min, ctx, GSS_C_NO_BUFFER);
    return -1;
  }
  /* Mutual authentication was asked for, so the context must wait for the server's reply. */
  if (maj != GSS_S_CONTINUE_NEEDED || out->length == 0) {
    snprintf(err, cap, "unexpected gss_init_sec_context status %u", maj);
    gss_release_buffer(&min, out);
    gss_delete_sec_context(&min, ctx, GSS_C_NO_BUFFER);
    return -1;
  }
  tokens_made++;
  return 0;
}

static void answer_batch(long count) {
  char err[512];
  size_t mark = olen;
  OM_uint32 min;
  for (long i = 0; i < count; i++) {
    gss_ctx_id_t ctx;
    gss_buffer_desc out = GSS_C_EMPTY_BUFFER;
    if (first_token(&ctx, &out, err, sizeof err) != 0) {
      olen = mark; /* one "!" line answers the whole request */
      puts_out("! ");
      puts_out(err);
      puts_out("\n");
      return;
    }
    put_base64(out.value, out.length);
    put("\n", 1);
    gss_release_buffer(&min, &out);
    gss_delete_sec_context(&min, &ctx, GSS_C_NO_BUFFER);
  }
}

static void answer_keep(void) {
  char err[512], id[24];
  OM_uint32 min;
  int slot = -1;
  for (int i = 0; i < MAX_KEPT && slot < 0; i++)
    if (kept[i] == GSS_C_NO_CONTEXT) slot = i;
  if (slot < 0) {
    puts_out("! too many kept contexts (verify or drop them)\n");
    return;
  }
  gss_buffer_desc out = GSS_C_EMPTY_BUFFER;
  if (first_token(&kept[slot], &out, err, sizeof err) != 0) {
    kept[slot] = GSS_C_NO_CONTEXT;
    puts_out("! ");
    puts_out(err);
    puts_out("\n");
    return;
  }
  snprintf(id, sizeof id, "%d ", slot);
  puts_out(id);
  put_base64(out.value, out.length);
  put("\n", 1);
  gss_release_buffer(&min, &out);
}

static int parse_slot(const char *s, char **end) {
  long id = strtol(s, end, 10);
  if (*end == s || id < 0 || id >= MAX_KEPT || kept[id] == GSS_C_NO_CONTEXT) return -1;
  return (int)id;
}

static void answer_verify(char *args) {
  char *end, err[512], head[48];
  OM_uint32 maj, min, ret_flags = 0;
  int slot = parse_slot(args, &end);
  if (slot < 0 || *end != ' ') {
    puts_out("! v: unknown context id\n");
    return;
  }
  long n = base64_decode(end + 1);
  snprintf(head, sizeof head, "%d", slot);
  if (n <= 0) {
    puts_out("fail ");
    puts_out(head);
    puts_out(" the reply token is empty or not base64\n");
  } else {
    gss_buffer_desc in = {(size_t)n, end + 1}, out = GSS_C_EMPTY_BUFFER;
    maj = gss_init_sec_context(&min, cred, &kept[slot], target, mech, kFlags, 0,
                               GSS_C_NO_CHANNEL_BINDINGS, &in, NULL, &out, &ret_flags, NULL);
    gss_release_buffer(&min, &out);
    if (GSS_ERROR(maj)) {
      status_text(maj, min, err, sizeof err);
    } else if (maj != GSS_S_COMPLETE) {
      snprintf(err, sizeof err, "the context needs another leg (status %u)", maj);
    } else if (!(ret_flags & GSS_C_MUTUAL_FLAG)) {
      snprintf(err, sizeof err, "complete without mutual authentication");
    } else {
      err[0] = '\0';
    }
    puts_out(err[0] ? "fail " : "ok ");
    puts_out(head);
    if (err[0]) {
      puts_out(" ");
      puts_out(err);
    }
    puts_out("\n");
  }
  if (kept[slot] != GSS_C_NO_CONTEXT) gss_delete_sec_context(&min, &kept[slot], GSS_C_NO_BUFFER);
  kept[slot] = GSS_C_NO_CONTEXT;
}

static void answer(char *line) {
  char *end;
  OM_uint32 min;
  if (line[0] == 'n' && line[1] == ' ') {
    long count = strtol(line + 2, &end, 10);
    if (end == line + 2 || *end || count < 1 || count > MAX_BATCH)
      puts_out("! n: bad count\n");
    else
      answer_batch(count);
  } else if (line[0] == 'k' && line[1] == '\0') {
    answer_keep();
  } else if (line[0] == 'v' && line[1] == ' ') {
    answer_verify(line + 2);
  } else if (line[0] == 'd' && line[1] == ' ') {
    int slot = parse_slot(line + 2, &end);
    if (slot >= 0) gss_delete_sec_context(&min, &kept[slot], GSS_C_NO_BUFFER);
    if (slot >= 0) kept[slot] = GSS_C_NO_CONTEXT;
  } else {
    puts_out("! unknown request\n");
  }
}

static void fatal_krb(krb5_context k, const char *what, krb5_error_code code) {
  const char *m = krb5_get_error_message(k, code);
  printf("! %s: %s\n", what, m);
  krb5_free_error_message(k, m);
  exit(1);
}

static void fatal_gss(const char *what, OM_uint32 maj, OM_uint32 min) {
  char err[512];
  status_text(maj, min, err, sizeof err);
  printf("! %s: %s\n", what, err);
  exit(1);
}

int main(int argc, char **argv) {
  const char *service = NULL, *mechname = "spnego";
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--service") && i + 1 < argc)
      service = argv[++i];
    else if (!strcmp(argv[i], "--mech") && i + 1 < argc)
      mechname = argv[++i];
    else
      service = NULL, i = argc;
  }
  if (!service || (strcmp(mechname, "spnego") && strcmp(mechname, "krb5"))) {
    fputs("usage: tokengen --service service@host [--mech spnego|krb5]\n", stderr);
    return 2;
  }
  mech = strcmp(mechname, "spnego") ? &krb5_oid : &spnego_oid;

  /* The TGT copied into a MEMORY ccache; the krb5 context stays open for the process's life
   * so the parsed krb5.conf stays cached for the GSS calls. */
  krb5_context k;
  krb5_error_code kc;
  if ((kc = krb5_init_context(&k))) {
    puts("! krb5_init_context failed");
    return 1;
  }
  krb5_ccache src, mem;
  krb5_principal client;
  if ((kc = krb5_cc_default(k, &src))) fatal_krb(k, "the ticket cache (KRB5CCNAME)", kc);
  if ((kc = krb5_cc_get_principal(k, src, &client)))
    fatal_krb(k, "no ticket in the ticket cache (kinit first; KRB5CCNAME)", kc);
  if ((kc = krb5_cc_new_unique(k, "MEMORY", NULL, &mem))) fatal_krb(k, "a MEMORY ccache", kc);
  if ((kc = krb5_cc_initialize(k, mem, client))) fatal_krb(k, "a MEMORY ccache", kc);
  if ((kc = krb5_cc_copy_creds(k, src, mem))) fatal_krb(k, "copying the tickets", kc);
  krb5_free_principal(k, client);
  krb5_cc_close(k, src);
  char memname[256];
  snprintf(memname, sizeof memname, "MEMORY:%s", krb5_cc_get_name(k, mem));

  OM_uint32 maj, min;
  gss_OID_set_desc mechs = {1, mech};
  gss_key_value_element_desc el = {"ccache", memname};
  gss_key_value_set_desc store = {1, &el};
  maj = gss_acquire_cred_from(&min, GSS_C_NO_NAME, GSS_C_INDEFINITE, &mechs, GSS_C_INITIATE, &store,
                              &cred, NULL, NULL);
  if (GSS_ERROR(maj)) fatal_gss("gss_acquire_cred_from", maj, min);
  if (mech == &spnego_oid) {
    /* Only krb5 inside SPNEGO, as browsers negotiate it (no IAKERB, no legacy OIDs). */
    gss_OID_set_desc neg = {1, &krb5_oid};
    maj = gss_set_neg_mechs(&min, cred, &neg);
    if (GSS_ERROR(maj)) fatal_gss("gss_set_neg_mechs", maj, min);
  }
  gss_buffer_desc nb = {strlen(service), (void *)service};
  maj = gss_import_name(&min, &nb, GSS_C_NT_HOSTBASED_SERVICE, &target);
  if (GSS_ERROR(maj)) fatal_gss("the service name", maj, min);

  /* The first token fetches the service ticket from the KDC: a wrong service name fails here,
   * once, rather than as every handshake's error. */
  {
    char err[512];
    gss_ctx_id_t ctx;
    gss_buffer_desc out = GSS_C_EMPTY_BUFFER;
    if (first_token(&ctx, &out, err, sizeof err) != 0) {
      printf("! a service ticket for %s: %s\n", service, err);
      return 1;
    }
    gss_release_buffer(&min, &out);
    gss_delete_sec_context(&min, &ctx, GSS_C_NO_BUFFER);
    tokens_made = 0;
  }
  puts_out("ready\n");
  flush_out();

  char *line = malloc(MAX_LINE + 1);
  size_t have = 0;
  int overlong = 0;
  for (;;) {
    ssize_t r = read(0, line + have, MAX_LINE - have);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    have += (size_t)r;
    size_t start = 0;
    for (size_t i = 0; i < have; i++) {
      if (line[i] != '\n') continue;
      line[i] = '\0';
      if (!overlong) answer(line + start);
      overlong = 0;
      start = i + 1;
    }
    memmove(line, line + start, have - start);
    have -= start;
    if (have == MAX_LINE) {
      /* Longer than any token could be: answered once, the rest of the line skipped. */
      puts_out("! request too long\n");
      overlong = 1;
      have = 0;
    }
    flush_out();
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  fprintf(stderr, "{\"cpuSeconds\":%.4f,\"tokens\":%ld}\n",
          ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
              ru.ru_stime.tv_usec / 1e6,
          tokens_made);
  krb5_cc_destroy(k, mem);
  krb5_free_context(k);
  return 0;
}
