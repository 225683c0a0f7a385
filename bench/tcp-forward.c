/*
 * The floor of a hop, for bench/http-proxy.mjs's `--modes …,forward-c` (issue 13's p99 target):
 * a byte forwarder in C, compiled with `cc -O2` by the bench beside bench/open-loop.c.
 *
 *   tcp-forward TARGET_PORT SECONDS
 *
 * Listens on an ephemeral port of 127.0.0.1 (printed as "FORWARD port=N"), and copies each
 * accepted connection's bytes to a new connection to 127.0.0.1:TARGET_PORT and back: one thread,
 * epoll, non-blocking sockets, TCP_NODELAY, no parsing. It is not a proxy naija-sup could ship (it
 * cannot tell requests apart, retry, or switch instances per request); it says what the machine's
 * scheduler and loopback TCP add to the tail when the hop costs almost no CPU, so that a mode's
 * Δp99 can be split into "a hop on this machine" and "this hop's CPU". Exits after SECONDS (a bound
 * for a bench that dies without stopping it) or on SIGTERM.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_FD 65536
#define BUF 65536

/* One direction's bytes read from a socket and not yet written to its peer. */
typedef struct {
  int peer;     /* the other socket of the pair; -1 when closed */
  size_t len;   /* bytes waiting in buf for the peer to take them */
  size_t off;
  char *buf;
} side_t;

static side_t sides[MAX_FD];
static int ep;

static void die(const char *what) {
  fprintf(stderr, "tcp-forward: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void watch(int fd, int op, unsigned events) {
  struct epoll_event ev = {.events = events, .data.fd = fd};
  if (epoll_ctl(ep, op, fd, &ev) < 0 && op != EPOLL_CTL_DEL) die("epoll_ctl");
}

static void close_pair(int fd) {
  int peer = sides[fd].peer;
  int fds[2] = {fd, peer};
  for (int i = 0; i < 2; i++) {
    if (fds[i] < 0) continue;
    free(sides[fds[i]].buf);
    sides[fds[i]] = (side_t){.peer = -1};
    close(fds[i]);
  }
}

/* Writes what `from` holds to its peer; while the peer is full, stops reading `from`. */
static int flush(int from) {
  side_t *s = &sides[from];
  while (s->off < s->len) {
    ssize_t w = write(s->peer, s->buf + s->off, s->len - s->off);
    if (w < 0 && errno == EAGAIN) {
      watch(from, EPOLL_CTL_MOD, 0);
      watch(s->peer, EPOLL_CTL_MOD, EPOLLIN | EPOLLOUT);
      return 0;
    }
    if (w <= 0) return -1;
    s->off += (size_t)w;
  }
  s->off = s->len = 0;
  return 0;
}

static void pair(int client, int target_port) {
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((unsigned short)target_port)};
  inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
  int up = socket(AF_INET, SOCK_STREAM, 0);
  if (up < 0 || up >= MAX_FD || client >= MAX_FD || connect(up, (struct sockaddr *)&to, sizeof to) < 0) {
    if (up >= 0) close(up);
    close(client);
    return;
  }
  int one = 1, fds[2] = {client, up};
  for (int i = 0; i < 2; i++) {
    setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (fcntl(fds[i], F_SETFL, fcntl(fds[i], F_GETFL) | O_NONBLOCK) < 0) die("fcntl");
    sides[fds[i]] = (side_t){.peer = fds[1 - i], .buf = malloc(BUF)};
    if (sides[fds[i]].buf == NULL) die("malloc");
    watch(fds[i], EPOLL_CTL_ADD, EPOLLIN);
  }
}

int main(int argc, char **argv) {
  if (argc != 3 || atoi(argv[1]) <= 0 || atoi(argv[2]) <= 0) {
    fprintf(stderr, "usage: tcp-forward TARGET_PORT SECONDS\n");
    return 2;
  }
  int target_port = atoi(argv[1]);
  alarm((unsigned)atoi(argv[2]));
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in at = {.sin_family = AF_INET, .sin_port = 0};
  inet_pton(AF_INET, "127.0.0.1", &at.sin_addr);
  socklen_t len = sizeof at;
  if (ls < 0 || bind(ls, (struct sockaddr *)&at, sizeof at) < 0 || listen(ls, 511) < 0) die("listen");
  if (getsockname(ls, (struct sockaddr *)&at, &len) < 0) die("getsockname");
  ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  watch(ls, EPOLL_CTL_ADD, EPOLLIN);
  printf("FORWARD port=%d\n", ntohs(at.sin_port));
  fflush(stdout);
  for (;;) {
    struct epoll_event evs[64];
    int k = epoll_wait(ep, evs, 64, -1);
    if (k < 0 && errno != EINTR) die("epoll_wait");
    for (int e = 0; e < k; e++) {
      int fd = evs[e].data.fd;
      if (fd == ls) {
        for (int c = accept(ls, NULL, NULL); c >= 0; c = accept(ls, NULL, NULL)) pair(c, target_port);
        continue;
      }
      if (sides[fd].buf == NULL) continue; /* closed earlier in this batch, with its peer */
      if (evs[e].events & EPOLLOUT) {
        /* The peer of a stalled side drained: finish that side's write, read both again. */
        int from = sides[fd].peer;
        if (flush(from) < 0) { close_pair(fd); continue; }
        if (sides[from].len == 0) {
          watch(from, EPOLL_CTL_MOD, EPOLLIN);
          watch(fd, EPOLL_CTL_MOD, EPOLLIN);
        }
        continue;
      }
      side_t *s = &sides[fd];
      ssize_t r = read(fd, s->buf, BUF);
      if (r < 0 && errno == EAGAIN) continue;
      if (r <= 0) { close_pair(fd); continue; }
      s->len = (size_t)r;
      s->off = 0;
      if (flush(fd) < 0) close_pair(fd);
    }
  }
}
