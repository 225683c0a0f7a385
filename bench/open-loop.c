/*
 * Open-loop fixed-rate HTTP/1.1 load generator for bench/http-proxy.mjs (issue 13's p99 target),
 * compiled by the bench with `cc -O2` into a temporary directory when it runs.
 *
 *   open-loop PORT PATH RATE CONNS SECONDS
 *
 * Sends GET PATH to 127.0.0.1:PORT at RATE requests/s over CONNS keep-alive connections for
 * SECONDS, and times each request from the moment it was DUE (t0 + i / RATE), not from when it was
 * written: a request due while every connection is busy waits for one (FIFO), and that wait counts
 * — no coordinated omission. One request per connection at a time (no pipelining); a response must
 * carry Content-Length (the bench's apps and both proxies send it). Prints one JSON line:
 * {"p50":ms,"p99":ms,"p999":ms,"max":ms,"failed":n,"n":n,"behind":bool,"cpuMs":ms}.
 *
 * Why C and not the Node generator the bench had: on the 2-core machine the generator shares the
 * CPUs with the app and the proxy. A Node client costs tens of µs of CPU per request plus its own
 * event-loop and GC pauses, which land in every mode's tail (and more in the modes with one more
 * process competing for the two cores). This one sleeps in epoll_wait until the next request is
 * due (timerfd, ns resolution) or a response arrives, and costs a few µs per request.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define BUF 65536

typedef struct {
  int fd;
  int busy;
  double due; /* ns, CLOCK_MONOTONIC, of the request in flight */
  size_t len; /* bytes buffered */
  long need;  /* bytes of the whole response once its head is parsed; -1 before */
  int status;
  char buf[BUF];
} conn_t;

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void die(const char *what) {
  printf("{\"error\":\"%s: %s\"}\n", what, strerror(errno));
  exit(1);
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: open-loop PORT PATH RATE CONNS SECONDS\n");
    return 2;
  }
  int port = atoi(argv[1]), nconns = atoi(argv[4]);
  double rate = atof(argv[3]), seconds = atof(argv[5]);
  long total = (long)(rate * seconds);
  if (port <= 0 || nconns <= 0 || rate <= 0 || total <= 0) {
    fprintf(stderr, "open-loop: bad arguments\n");
    return 2;
  }
  char request[1024];
  int reqlen = snprintf(request, sizeof request, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n", argv[2], port);
  double *lat = malloc(sizeof(double) * (size_t)total);
  double *backlog = malloc(sizeof(double) * (size_t)total); /* due times waiting for a connection */
  conn_t *conns = calloc((size_t)nconns, sizeof(conn_t));
  int *idle = malloc(sizeof(int) * (size_t)nconns);
  if (!lat || !backlog || !conns || !idle) die("malloc");
  long n = 0, failed = 0, sent = 0, done = 0, bhead = 0, btail = 0;
  int nidle = 0;

  int ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  for (int i = 0; i < nconns; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) die("socket");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) die("connect");
    conns[i].fd = fd;
    conns[i].need = -1;
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (unsigned)i};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
    idle[nidle++] = i;
  }
  int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
  if (tfd < 0) die("timerfd_create");
  struct epoll_event tev = {.events = EPOLLIN, .data.u32 = 0xffffffffu};
  epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev);

  struct rusage ru0;
  getrusage(RUSAGE_SELF, &ru0);
  const double interval = 1e9 / rate;
  const double t0 = now_ns() + 200e6;
  const double end_due = t0 + (double)total * interval;
  const double give_up = end_due + 30e9;

  while (done < total) {
    double now = now_ns();
    if (now > give_up) {
      printf("{\"error\":\"generator timed out\",\"failed\":%ld,\"n\":%ld}\n", failed, n);
      return 1;
    }
    /* Everything due by now: to an idle connection, or to the backlog. */
    while (sent < total && t0 + (double)sent * interval <= now) {
      double due = t0 + (double)sent * interval;
      sent++;
      if (nidle > 0) {
        conn_t *c = &conns[idle[--nidle]];
        c->busy = 1;
        c->due = due;
        if (write(c->fd, request, (size_t)reqlen) != reqlen) die("write");
      } else {
        backlog[btail++] = due;
      }
    }
    if (sent < total) {
      double next = t0 + (double)sent * interval;
      struct itimerspec its = {0};
      its.it_value.tv_sec = (time_t)(next / 1e9);
      its.it_value.tv_nsec = (long)(next - (double)its.it_value.tv_sec * 1e9);
      if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0) its.it_value.tv_nsec = 1;
      timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
    }
    struct epoll_event evs[64];
    int k = epoll_wait(ep, evs, 64, 1000);
    if (k < 0 && errno != EINTR) die("epoll_wait");
    for (int e = 0; e < k; e++) {
      if (evs[e].data.u32 == 0xffffffffu) {
        unsigned long long expirations;
        if (read(tfd, &expirations, sizeof expirations) < 0 && errno != EAGAIN) die("read timerfd");
        continue;
      }
      conn_t *c = &conns[evs[e].data.u32];
      ssize_t r = read(c->fd, c->buf + c->len, BUF - c->len);
      if (r <= 0) {
        printf("{\"error\":\"connection closed\",\"failed\":%ld,\"n\":%ld}\n", failed, n);
        return 1;
      }
      c->len += (size_t)r;
      for (;;) {
        if (c->need < 0) {
          char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
          if (end == NULL) break;
          long head = end - c->buf;
          long length = -1;
          for (char *p = c->buf; p < end; p++) {
            if (p[0] == '\n' && end - p > 16 && strncasecmp(p + 1, "content-length:", 15) == 0) {
              length = strtol(p + 16, NULL, 10);
              break;
            }
          }
          if (length < 0 || head + 4 + length > BUF) {
            printf("{\"error\":\"response without a usable Content-Length\"}\n");
            return 1;
          }
          c->status = atoi(c->buf + 9);
          c->need = head + 4 + length;
        }
        if ((long)c->len < c->need) break;
        double t = now_ns();
        if (c->status == 200) lat[n++] = (t - c->due) / 1e6;
        else failed++;
        done++;
        memmove(c->buf, c->buf + c->need, c->len - (size_t)c->need);
        c->len -= (size_t)c->need;
        c->need = -1;
        if (bhead < btail) {
          c->due = backlog[bhead++];
          if (write(c->fd, request, (size_t)reqlen) != reqlen) die("write");
        } else {
          c->busy = 0;
          idle[nidle++] = (int)(c - conns);
        }
      }
    }
  }
  struct rusage ru1;
  getrusage(RUSAGE_SELF, &ru1);
  double cpu_ms = (double)(ru1.ru_utime.tv_sec - ru0.ru_utime.tv_sec + ru1.ru_stime.tv_sec - ru0.ru_stime.tv_sec) * 1e3 +
                  (double)(ru1.ru_utime.tv_usec - ru0.ru_utime.tv_usec + ru1.ru_stime.tv_usec - ru0.ru_stime.tv_usec) / 1e3;
  qsort(lat, (size_t)n, sizeof(double), cmp);
#define Q(p) (n > 0 ? lat[(long)((p) * (double)n) < n ? (long)((p) * (double)n) : n - 1] : -1.0)
  /* Finished well after the last request was due: the generator or the server fell behind the rate. */
  int behind = now_ns() - end_due > 1e9;
  printf("{\"p50\":%.4f,\"p99\":%.4f,\"p999\":%.4f,\"max\":%.4f,\"failed\":%ld,\"n\":%ld,\"behind\":%s,\"cpuMs\":%.1f}\n",
         Q(0.5), Q(0.99), Q(0.999), n > 0 ? lat[n - 1] : -1.0, failed, n, behind ? "true" : "false", cpu_ms);
  return 0;
}
