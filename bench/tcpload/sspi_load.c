/*
 * sspi_load: raw-TCP Negotiate load in the `sspi` framing (docs/protocols.md) from a C event
 * loop, so the load generator costs the server's 2 cores little (the Node generator,
 * bench/lib/tcpLoad.mjs, spends ~100 us of CPU per handshake). One handshake per connection:
 * connect, send one pre-framed token ([u32 LE length][token]), read until the server closes.
 * A handshake is ok when the reply is a whole frame followed by a greeting of at least 5 bytes
 * ([u32 LE trailer length][trailer][ciphertext]): the server seals the greeting only once the
 * context is complete, and answers a refused token with its error frame and no greeting.
 *
 *   sspi_load HOST PORT CONNECTIONS SECONDS FRAMES_FILE
 *
 * FRAMES_FILE holds the frames back to back; each is sent once (a reused AP-REQ is a replay).
 * New connections stop when the frames run out or SECONDS have passed; then the ones in flight
 * finish (bounded by 5 s). Prints one JSON line on stdout: counts, latency percentiles (connect
 * to close, ok handshakes only) and this process's own CPU during the load.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { kMaxConnections = 1024, kReplyCap = 65536, kDrainSeconds = 5 };

struct conn {
  int fd;
  const uint8_t *frame;
  size_t frame_len, sent;
  uint8_t *reply;
  size_t reply_len;
  uint64_t start_ns;
};

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
         (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static uint8_t *frames;
static size_t frames_len, frames_at;
static struct sockaddr_in addr;
static int epfd;
static uint64_t started, ok, refused, err_connect, err_read, err_write, err_short;
static uint32_t *latencies;
static size_t latencies_len, latencies_cap;

/* The next frame, or 0 when none is left (or the file is malformed from here on). */
static int next_frame(const uint8_t **frame, size_t *len) {
  if (frames_len - frames_at < 4) return 0;
  uint32_t n = le32(frames + frames_at);
  if (n == 0 || n > frames_len - frames_at - 4) return 0;
  *frame = frames + frames_at;
  *len = 4 + (size_t)n;
  frames_at += *len;
  return 1;
}

static int open_one(struct conn *c) {
  const uint8_t *frame;
  size_t len;
  if (!next_frame(&frame, &len)) return 0;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  /* No TCP_NODELAY: the frame leaves in one write, which Nagle never delays. */
  c->fd = fd;
  c->frame = frame;
  c->frame_len = len;
  c->sent = 0;
  c->reply_len = 0;
  c->start_ns = now_ns();
  started++;
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0 && errno != EINPROGRESS) {
    err_connect++;
    close(fd);
    c->fd = -1;
    return -1;
  }
  struct epoll_event ev = {.events = EPOLLOUT | EPOLLIN | EPOLLRDHUP, .data.ptr = c};
  epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
  return 1;
}

static void finish(struct conn *c, int outcome /* 0 ok, else error counter to bump */) {
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  c->fd = -1;
  if (outcome != 0) return;
  /* ok only with a whole reply frame then a greeting of at least 5 bytes */
  if (c->reply_len < 4) {
    err_short++;
    return;
  }
  uint32_t n = le32(c->reply);
  if ((size_t)n + 4 > c->reply_len) {
    err_short++;
    return;
  }
  if (c->reply_len - 4 - n < 5) {
    refused++;
    return;
  }
  ok++;
  if (latencies_len == latencies_cap) {
    latencies_cap = latencies_cap ? latencies_cap * 2 : 65536;
    latencies = realloc(latencies, latencies_cap * sizeof *latencies);
    if (!latencies) exit(3);
  }
  uint64_t us = (now_ns() - c->start_ns) / 1000;
  latencies[latencies_len++] = us > UINT32_MAX ? UINT32_MAX : (uint32_t)us;
}

static void on_event(struct conn *c, uint32_t events) {
  if (c->sent < c->frame_len && (events & EPOLLOUT)) {
    ssize_t w = write(c->fd, c->frame + c->sent, c->frame_len - c->sent);
    if (w < 0 && errno != EAGAIN) {
      err_write++;
      finish(c, 1);
      return;
    }
    if (w > 0) c->sent += (size_t)w;
    if (c->sent == c->frame_len) {
      struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
      epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev);
    }
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
    for (;;) {
      ssize_t r = read(c->fd, c->reply + c->reply_len, kReplyCap - c->reply_len);
      if (r > 0) {
        c->reply_len += (size_t)r;
        if (c->reply_len == kReplyCap) {
          err_read++;
          finish(c, 1);
          return;
        }
        continue;
      }
      if (r == 0) {
        finish(c, c->sent == c->frame_len ? 0 : (err_write++, 1));
        return;
      }
      if (errno == EAGAIN) return;
      if (c->sent == 0)
        err_connect++;
      else
        err_read++;
      finish(c, 1);
      return;
    }
  }
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: sspi_load HOST PORT CONNECTIONS SECONDS FRAMES_FILE\n");
    return 2;
  }
  int port = atoi(argv[2]), conns = atoi(argv[3]);
  double seconds = atof(argv[4]);
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)port);
  if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1 || port < 1 || port > 65535 || conns < 1 ||
      conns > kMaxConnections || !(seconds > 0 && seconds <= 600)) {
    fprintf(stderr,
            "sspi_load: bad host (IPv4 address), port, connections (1-%d) or seconds (<= 600)\n",
            kMaxConnections);
    return 2;
  }
  int fd = open(argv[5], O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < 5) {
    fprintf(stderr, "sspi_load: cannot read %s\n", argv[5]);
    return 2;
  }
  frames_len = (size_t)st.st_size;
  frames = malloc(frames_len);
  for (size_t got = 0; got < frames_len;) {
    ssize_t r = read(fd, frames + got, frames_len - got);
    if (r <= 0) {
      fprintf(stderr, "sspi_load: cannot read %s\n", argv[5]);
      return 2;
    }
    got += (size_t)r;
  }
  close(fd);
  struct conn *pool = calloc((size_t)conns, sizeof *pool);
  for (int i = 0; i < conns; i++) {
    pool[i].fd = -1;
    pool[i].reply = malloc(kReplyCap);
  }
  epfd = epoll_create1(EPOLL_CLOEXEC);

  double cpu0 = cpu_seconds();
  uint64_t t0 = now_ns(), deadline = t0 + (uint64_t)(seconds * 1e9);
  uint64_t hard = deadline + (uint64_t)kDrainSeconds * 1000000000u;
  int out_of_frames = 0;
  struct epoll_event events[256];
  for (;;) {
    uint64_t t = now_ns();
    int opening = !out_of_frames && t < deadline;
    int live = 0;
    for (int i = 0; i < conns; i++) {
      if (pool[i].fd < 0 && opening) {
        int r = open_one(&pool[i]);
        if (r == 0) out_of_frames = 1, opening = 0;
      }
      if (pool[i].fd >= 0) live++;
    }
    if (live == 0 && !opening) break;
    if (t >= hard) break;
    int n = epoll_wait(epfd, events, 256, 50);
    for (int i = 0; i < n; i++) on_event(events[i].data.ptr, events[i].events);
  }
  uint64_t elapsed = now_ns() - t0;
  double cpu = cpu_seconds() - cpu0;
  uint64_t unfinished = 0;
  for (int i = 0; i < conns; i++) {
    if (pool[i].fd >= 0) unfinished++, close(pool[i].fd);
  }
  qsort(latencies, latencies_len, sizeof *latencies, cmp_u32);
#define PCT(p) (latencies_len ? latencies[(size_t)((latencies_len - 1) * (p) / 100.0)] : 0)
  printf(
      "{\"durationUs\":%llu,\"started\":%llu,\"ok\":%llu,\"refused\":%llu,\"connect\":%llu,"
      "\"read\":%llu,"
      "\"write\":%llu,\"short\":%llu,\"unfinished\":%llu,\"outOfFrames\":%s,\"p50Us\":%u,\"p90Us\":"
      "%u,"
      "\"p99Us\":%u,\"maxUs\":%u,\"cpuS\":%.6f}\n",
      (unsigned long long)(elapsed / 1000), (unsigned long long)started, (unsigned long long)ok,
      (unsigned long long)refused, (unsigned long long)err_connect, (unsigned long long)err_read,
      (unsigned long long)err_write, (unsigned long long)err_short, (unsigned long long)unfinished,
      out_of_frames ? "true" : "false", PCT(50), PCT(90), PCT(99),
      latencies_len ? latencies[latencies_len - 1] : 0, cpu);
  return 0;
}
