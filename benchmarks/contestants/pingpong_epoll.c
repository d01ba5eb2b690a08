/*
 * pingpong_epoll: the floor of the ping-pong benchmark.  One process, two
 * UDP sockets on 127.0.0.1, one epoll set: B echoes each datagram to its
 * sender with sendto(2); A records the round-trip time and sends the next
 * one.  One datagram in flight, recvfrom/sendto per hop, nothing else: what
 * an event loop that did no work of its own would cost.
 *
 *   pingpong_epoll [--size 64] [--warmup 0.3] [--seconds 2]
 * Prints (the line protocol of benchmarks/run.py):
 *   RESULT count=<round trips in the window> bytes=<bytes A received>
 *          port_sum=<sum of B's port> elapsed_ns=<window> p50_ns=<> p99_ns=<>
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int bound_socket(struct sockaddr_in *addr) {
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    if (fd < 0) { perror("socket"); exit(1); }
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)addr, sizeof *addr) < 0) { perror("bind"); exit(1); }
    socklen_t len = sizeof *addr;
    getsockname(fd, (struct sockaddr *)addr, &len);
    return fd;
}

static int cmp_ll(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    int size = 64;
    double warmup = 0.3, seconds = 2.0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--size") == 0) size = atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--warmup") == 0) warmup = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--seconds") == 0) seconds = atof(argv[i + 1]);
    }
    if (size < 1 || size > 65507) { fprintf(stderr, "bad --size\n"); return 2; }
    struct sockaddr_in a_addr, b_addr;
    int a = bound_socket(&a_addr), b = bound_socket(&b_addr);
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN};
    ev.data.fd = a;
    epoll_ctl(ep, EPOLL_CTL_ADD, a, &ev);
    ev.data.fd = b;
    epoll_ctl(ep, EPOLL_CTL_ADD, b, &ev);

    char *payload = calloc(1, (size_t)size), buf[65536];
    size_t cap = 1 << 20, n = 0;
    long long *samples = malloc(cap * sizeof *samples);
    long long bytes = 0, port_sum = 0;
    long long start = now_ns();
    long long t_open = start + (long long)(warmup * 1e9);
    long long t_close = t_open + (long long)(seconds * 1e9);
    int measuring = 0;
    long long t_send = now_ns();
    if (sendto(a, payload, (size_t)size, 0, (struct sockaddr *)&b_addr, sizeof b_addr) < 0) {
        perror("sendto");
        return 1;
    }
    long long window_start = 0, t = 0;
    for (;;) {
        struct epoll_event evs[2];
        int k = epoll_wait(ep, evs, 2, 1000);
        if (k < 0) {
            if (errno == EINTR) continue;
            perror("epoll_wait");
            return 1;
        }
        if (k == 0) { fprintf(stderr, "no datagram for 1 s\n"); return 1; }
        for (int i = 0; i < k; i++) {
            struct sockaddr_in from;
            socklen_t fromlen = sizeof from;
            int fd = evs[i].data.fd;
            ssize_t got = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fromlen);
            if (got < 0) {
                if (errno == EAGAIN || errno == EINTR) continue;
                perror("recvfrom");
                return 1;
            }
            if (fd == b) {
                sendto(b, buf, (size_t)got, 0, (struct sockaddr *)&from, fromlen);
                continue;
            }
            t = now_ns();
            if (measuring) {
                if (n == cap) {
                    cap *= 2;
                    samples = realloc(samples, cap * sizeof *samples);
                }
                samples[n++] = t - t_send;
                bytes += got;
                port_sum += ntohs(from.sin_port);
            } else if (t >= t_open) {
                measuring = 1;
                window_start = t;
            }
            if (measuring && t >= t_close) goto done;
            t_send = t;
            sendto(a, payload, (size_t)size, 0, (struct sockaddr *)&b_addr, sizeof b_addr);
        }
    }
done:
    qsort(samples, n, sizeof *samples, cmp_ll);
    long long p50 = n ? samples[n / 2 < n ? n / 2 : n - 1] : 0;
    size_t i99 = (size_t)((double)n * 0.99);
    long long p99 = n ? samples[i99 < n ? i99 : n - 1] : 0;
    printf("RESULT count=%zu bytes=%lld port_sum=%lld elapsed_ns=%lld p50_ns=%lld p99_ns=%lld\n",
           n, bytes, port_sum, t - window_start, p50, p99);
    return 0;
}
