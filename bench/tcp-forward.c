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

/* One socket of a pair: the bytes read from it and not yet written to its peer. */
typedef struct {
  int peer;   /* the other socket of the pair; -1 when not in use */
  int eof;    /* it sent FIN: once `len` is written, the peer's write side is shut down */
  size_t len; /* bytes in buf still to be written to the peer, from off */
  size_t off;
  char *buf;
} side_t;

static side_t sides[MAX_FD];
static int ep;

static void die(const char *what) {
  fprintf(stderr, "tcp-forward: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void close_pair(int fd) {
  int fds[2] = {fd, sides[fd].peer};
  for (int i = 0; i < 2; i++) {
    if (fds[i] < 0 || sides[fds[i]].buf == NULL) continue;
    free(sides[fds[i]].buf);
    sides[fds[i]] = (side_t){.peer = -1};
    epoll_ctl(ep, EPOLL_CTL_DEL, fds[i], NULL);
    close(fds[i]);
  }
}

/*
 * What to wait for on `fd`: more to read only once its own bytes are passed on (so a slow peer
 * stops the reading: backpressure), and writability while its peer's bytes wait for it.
 */
static void rearm(int fd) {
  side_t *s = &sides[fd];
  unsigned events = (s->len == 0 && !s->eof ? EPOLLIN : 0) | (sides[s->peer].len > 0 ? EPOLLOUT : 0);
  struct epoll_event ev = {.events = events, .data.fd = fd};
  if (epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev) < 0) die("epoll_ctl");
}

/* Writes what `from` holds to its peer, as far as the peer takes it; -1 when the peer is gone. */
static int pass_on(int from) {
  side_t *s = &sides[from];
  while (s->off < s->len) {
    ssize_t w = write(s->peer, s->buf + s->off, s->len - s->off);
    if (w < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
    if (w <= 0) return -1;
    s->off += (size_t)w;
  }
  s->off = s->len = 0;
  /* A half-close travels on once everything before it has. */
  if (s->eof) shutdown(s->peer, SHUT_WR);
  return 0;
}

/* One readable (or hung-up) socket: read once, pass it on. -1 when the pair is done. */
static int take_in(int fd) {
  side_t *s = &sides[fd];
  ssize_t r = read(fd, s->buf, BUF);
  if (r < 0) return errno == EAGAIN || errno == EINTR ? 0 : -1;
  if (r == 0) s->eof = 1;
  s->len = (size_t)r;
  s->off = 0;
  if (pass_on(fd) < 0) return -1;
  /* Both ends said FIN and everything was passed on. */
  return s->eof && sides[s->peer].eof && s->len == 0 && sides[s->peer].len == 0 ? -1 : 0;
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
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fds[i]};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev) < 0) die("epoll_ctl");
  }
}

int main(int argc, char **argv) {
  if (argc != 3 || atoi(argv[1]) <= 0 || atoi(argv[2]) <= 0) {
    fprintf(stderr, "usage: tcp-forward TARGET_PORT SECONDS\n");
    return 2;
  }
  int target_port = atoi(argv[1]);
  signal(SIGPIPE, SIG_IGN); /* a peer gone mid-write is an EPIPE, handled as the pair's end */
  alarm((unsigned)atoi(argv[2]));
  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in at = {.sin_family = AF_INET, .sin_port = 0};
  inet_pton(AF_INET, "127.0.0.1", &at.sin_addr);
  socklen_t len = sizeof at;
  if (ls < 0 || bind(ls, (struct sockaddr *)&at, sizeof at) < 0 || listen(ls, 511) < 0) die("listen");
  if (getsockname(ls, (struct sockaddr *)&at, &len) < 0) die("getsockname");
  ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  struct epoll_event lev = {.events = EPOLLIN, .data.fd = ls};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, ls, &lev) < 0) die("epoll_ctl");
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
      /* Closed earlier in this batch with its peer (its number may be reused by a later accept,
         whose socket then just finds nothing to read: EAGAIN). */
      if (sides[fd].buf == NULL) continue;
      int peer = sides[fd].peer;
      int done = (evs[e].events & EPOLLERR) != 0; /* reset: nothing more will pass */
      if (evs[e].events & EPOLLOUT) done = pass_on(peer) < 0;
      if (!done && (evs[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && sides[fd].len == 0 && !sides[fd].eof) done = take_in(fd) < 0;
      if (!done && sides[fd].eof && sides[peer].eof && sides[fd].len == 0 && sides[peer].len == 0) done = 1;
      if (done) {
        close_pair(fd);
        continue;
      }
      rearm(fd);
      rearm(peer);
    }
  }
}
