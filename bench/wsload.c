/* wsload: a small WebSocket load generator for realtime-core benchmarks.
 *
 * One process, one thread, epoll. It opens N subscriber connections to a gateway, joins them
 * to one room, then one publisher connection sends room messages at a fixed rate (open loop:
 * every message carries its intended send time, so a late sender does not hide latency).
 * Subscribers count deliveries and latency (CLOCK_MONOTONIC, same machine).
 *
 *   wsload fanout HOST PORT PATH SUBS RATE SECONDS [PAYLOAD_BYTES]
 *   wsload idle   HOST PORT PATH CONNS SECONDS          (connect, each joins its own room, sit idle)
 *
 * It speaks just enough RFC 6455 for this: masked text frames out, unmasked frames in,
 * pings answered. Not a general client. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    int fd;
    int state;               /* 0 handshake, 1 open (welcome seen), 2 joined */
    char *rbuf;
    size_t rlen, rcap;
    uint64_t expect_seq;     /* next publisher sequence expected */
    uint64_t got, dup_or_gap;
    int index;
} conn_t;

static int idle_mode; /* idle: every connection joins a room of its own (no presence storm) */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int dial(const char *host, int port, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, host, &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) { close(fd); return -1; }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    char req[512];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                     path, host, port);
    if (write(fd, req, (size_t)n) != n) { close(fd); return -1; }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

/* Sends one masked text frame (blocking-ish: retries on EAGAIN). */
static int ws_send(int fd, const char *txt, size_t len)
{
    uint8_t hdr[14];
    size_t h = 0;
    hdr[h++] = 0x81;
    if (len < 126) hdr[h++] = 0x80 | (uint8_t)len;
    else if (len < 65536) { hdr[h++] = 0x80 | 126; hdr[h++] = (uint8_t)(len >> 8); hdr[h++] = (uint8_t)len; }
    else { hdr[h++] = 0x80 | 127; for (int i = 7; i >= 0; i--) hdr[h++] = (uint8_t)((uint64_t)len >> (8 * i)); }
    memset(hdr + h, 0, 4); /* zero mask: legal, and the payload stays as is */
    h += 4;
    char *out = malloc(h + len);
    memcpy(out, hdr, h);
    memcpy(out + h, txt, len);
    size_t off = 0, total = h + len;
    while (off < total) {
        ssize_t w = write(fd, out + off, total - off);
        if (w < 0) {
            if (errno == EAGAIN) { usleep(50); continue; }
            free(out);
            return -1;
        }
        off += (size_t)w;
    }
    free(out);
    return 0;
}

static uint64_t *lat; static size_t nlat, caplat;
static uint64_t deliveries;

static void on_text(conn_t *c, const char *p, size_t n)
{
    if (c->state == 0) return;
    if (c->state == 1) {
        if (memmem(p, n, "\"welcome\"", 9)) {
            char join[128];
            int n = idle_mode ? snprintf(join, sizeof join, "{\"type\":\"room:join\",\"room\":\"idle-%d\",\"id\":1}", c->index)
                              : snprintf(join, sizeof join, "{\"type\":\"room:join\",\"room\":\"bench\",\"id\":1}");
            ws_send(c->fd, join, (size_t)n);
        } else if (memmem(p, n, "\"ack\"", 5)) {
            c->state = 2;
        }
        return;
    }
    const char *t = memmem(p, n, "\"t\":", 4);
    const char *s = memmem(p, n, "\"s\":", 4);
    if (!t || !s) return;
    uint64_t sent = strtoull(t + 4, NULL, 10), seq = strtoull(s + 4, NULL, 10);
    if (seq != c->expect_seq) c->dup_or_gap++;
    c->expect_seq = seq + 1;
    c->got++;
    deliveries++;
    if (nlat == caplat) { caplat = caplat ? caplat * 2 : 1 << 20; lat = realloc(lat, caplat * sizeof *lat); }
    lat[nlat++] = now_ns() - sent;
}

/* Parses as many whole frames as the buffer holds. */
static void pump(conn_t *c)
{
    size_t off = 0;
    if (c->state == 0) {
        char *end = memmem(c->rbuf, c->rlen, "\r\n\r\n", 4);
        if (!end) return;
        off = (size_t)(end - c->rbuf) + 4;
        c->state = 1;
    }
    for (;;) {
        if (c->rlen - off < 2) break;
        uint8_t *b = (uint8_t *)c->rbuf + off;
        uint64_t len = b[1] & 0x7f;
        size_t h = 2;
        if (len == 126) { if (c->rlen - off < 4) break; len = ((uint64_t)b[2] << 8) | b[3]; h = 4; }
        else if (len == 127) { if (c->rlen - off < 10) break; len = 0; for (int i = 0; i < 8; i++) len = (len << 8) | b[2 + i]; h = 10; }
        if (c->rlen - off < h + len) break;
        int op = b[0] & 0x0f;
        if (op == 1) on_text(c, (char *)b + h, (size_t)len);
        else if (op == 9) { /* ping -> pong */
            uint8_t pong[2 + 4 + 125];
            pong[0] = 0x8a; pong[1] = 0x80 | (uint8_t)len; memset(pong + 2, 0, 4);
            memcpy(pong + 6, b + h, (size_t)len);
            if (write(c->fd, pong, 6 + (size_t)len) < 0) {}
        } else if (op == 8) { close(c->fd); c->fd = -1; return; }
        off += h + (size_t)len;
    }
    memmove(c->rbuf, c->rbuf + off, c->rlen - off);
    c->rlen -= off;
}

static int cmp64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static size_t rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256]; size_t v = 0;
    while (f && fgets(line, sizeof line, f)) if (!strncmp(line, "VmRSS:", 6)) v = strtoul(line + 6, NULL, 10);
    if (f) fclose(f);
    return v;
}

int main(int argc, char **argv)
{
    if (argc < 7) {
        fprintf(stderr, "usage: wsload fanout HOST PORTS PATH SUBS RATE SECONDS [PAYLOAD]\n"
                        "       wsload idle   HOST PORTS PATH CONNS SECONDS\n"
                        "PORTS: PORT, or PUBPORT/SUBPORT[,SUBPORT...]: the publisher on PUBPORT,\n"
                        "the subscribers spread round-robin over the SUBPORTs (other nodes)\n");
        return 2;
    }
    int fanout = !strcmp(argv[1], "fanout");
    idle_mode = !fanout;
    const char *host = argv[2], *path = argv[4];
    /* "P" or "PUB/S1,S2,..." */
    int port = atoi(argv[3]), subports[16], nports = 0;
    const char *slash = strchr(argv[3], '/');
    for (const char *p = slash ? slash + 1 : argv[3]; p && *p && nports < 16; p = strchr(p, ',')) {
        if (*p == ',') p++;
        subports[nports++] = atoi(p);
    }
    int nsub = atoi(argv[5]);
    double rate = fanout ? atof(argv[6]) : 0;
    double secs = atof(argv[fanout ? 7 : 6]);
    int padn = (fanout && argc > 8) ? atoi(argv[8]) : 100;
    (void)rss_kib;

    int ep = epoll_create1(0);
    conn_t *cs = calloc((size_t)nsub, sizeof *cs);
    for (int i = 0; i < nsub; i++) {
        cs[i].index = i;
        cs[i].fd = dial(host, subports[i % nports], path);
        if (cs[i].fd < 0) { fprintf(stderr, "connect %d failed: %s\n", i, strerror(errno)); return 1; }
        cs[i].rcap = 4096; cs[i].rbuf = malloc(cs[i].rcap);
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &cs[i] };
        epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
    }
    struct epoll_event evs[512];
    uint64_t t0 = now_ns();
    int joined = 0;
    while (joined < nsub) {
        int n = epoll_wait(ep, evs, 512, 100);
        for (int i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            if (c->rcap - c->rlen < 65536) { c->rcap = c->rlen + 65536 * 2; c->rbuf = realloc(c->rbuf, c->rcap); }
            ssize_t r = read(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen);
            if (r <= 0) { fprintf(stderr, "connection lost while joining\n"); return 1; }
            c->rlen += (size_t)r;
            int before = c->state;
            pump(c);
            if (before != 2 && c->state == 2) joined++;
        }
        if (now_ns() - t0 > 60ull * 1000000000ull) { fprintf(stderr, "join timeout: %d of %d\n", joined, nsub); return 1; }
    }
    printf("joined %d connections in %.2f s\n", nsub, (double)(now_ns() - t0) / 1e9);
    fflush(stdout);

    if (!fanout) {
        uint64_t end = now_ns() + (uint64_t)(secs * 1e9);
        while (now_ns() < end) {
            int n = epoll_wait(ep, evs, 512, 200);
            for (int i = 0; i < n; i++) {
                conn_t *c = evs[i].data.ptr;
                ssize_t r = read(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen);
                if (r <= 0) { fprintf(stderr, "connection lost while idle\n"); return 1; }
                c->rlen += (size_t)r;
                pump(c);
            }
        }
        printf("idle done\n");
        return 0;
    }

    /* the publisher: one more connection, joined like the others (messages skip the sender) */
    conn_t pub = { .rcap = 65536 };
    pub.rbuf = malloc(pub.rcap);
    pub.fd = dial(host, port, path);
    while (pub.state != 2) {
        ssize_t r = read(pub.fd, pub.rbuf + pub.rlen, pub.rcap - pub.rlen);
        if (r > 0) { pub.rlen += (size_t)r; pump(&pub); }
        else if (r == 0) { fprintf(stderr, "publisher closed\n"); return 1; }
        else usleep(1000);
    }
    char *pad = malloc((size_t)padn + 1);
    memset(pad, 'x', (size_t)padn); pad[padn] = 0;
    char msg[70000];
    uint64_t interval = (uint64_t)(1e9 / rate), start = now_ns(), next = start, seq = 0;
    uint64_t end = start + (uint64_t)(secs * 1e9);
    while (now_ns() < end + 2000000000ull) {
        uint64_t now = now_ns();
        while (now < end && next <= now) {
            int n = snprintf(msg, sizeof msg,
                             "{\"type\":\"bench:msg\",\"room\":\"bench\",\"payload\":{\"t\":%llu,\"s\":%llu,\"pad\":\"%s\"}}",
                             (unsigned long long)next, (unsigned long long)seq++, pad);
            ws_send(pub.fd, msg, (size_t)n);
            next += interval;
        }
        /* drain the publisher's own socket (acks are not requested; pings answered) */
        ssize_t r = read(pub.fd, pub.rbuf + pub.rlen, pub.rcap - pub.rlen);
        if (r > 0) { pub.rlen += (size_t)r; pump(&pub); }
        int n = epoll_wait(ep, evs, 512, 1);
        for (int i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            if (c->rcap - c->rlen < 65536) { c->rcap = c->rlen + 65536 * 2; c->rbuf = realloc(c->rbuf, c->rcap); }
            ssize_t rr = read(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen);
            if (rr <= 0) { fprintf(stderr, "subscriber lost (slow consumer close?)\n"); return 1; }
            c->rlen += (size_t)rr;
            pump(c);
        }
        if (now >= end && deliveries >= seq * (uint64_t)nsub) break;
    }
    double dur = (double)(now_ns() - start) / 1e9;
    uint64_t gaps = 0, expected = seq * (uint64_t)nsub;
    for (int i = 0; i < nsub; i++) gaps += cs[i].dup_or_gap;
    qsort(lat, nlat, sizeof *lat, cmp64);
    double p50 = nlat ? (double)lat[nlat / 2] / 1e6 : 0, p99 = nlat ? (double)lat[(size_t)((double)nlat * 0.99)] / 1e6 : 0;
    double mx = nlat ? (double)lat[nlat - 1] / 1e6 : 0;
    printf("sent %llu messages at %.0f/s to %d subscribers; delivered %llu of %llu (%.1f%%), order gaps %llu\n",
           (unsigned long long)seq, rate, nsub, (unsigned long long)deliveries, (unsigned long long)expected,
           expected ? 100.0 * (double)deliveries / (double)expected : 0, (unsigned long long)gaps);
    printf("deliveries/s %.0f   latency p50 %.2f ms  p99 %.2f ms  max %.2f ms\n",
           (double)deliveries / (secs < dur ? secs : dur), p50, p99, mx);
    return deliveries == expected ? 0 : 1;
}
