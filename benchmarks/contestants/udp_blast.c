/*
 * udp_blast: a UDP sender built on sendmmsg(2), for the dgram_uv benchmarks.
 *
 * A Python sendto() loop tops out well below what a C or libuv receiver can
 * read, so the flood and drain benchmarks need a sender that is never the
 * bottleneck by accident.  sendmmsg() hands the kernel a whole batch of
 * datagrams per system call.
 *
 *   udp_blast HOST PORT SIZE --seconds S   send for S seconds (flood)
 *   udp_blast HOST PORT SIZE --count N     send exactly N datagrams (fill)
 *   ... --no-gso                            one datagram per message
 *
 * HOST must be a loopback literal (127.0.0.1 or ::1): the benchmarks never
 * send anywhere else, and the program refuses to.
 * Prints one line:
 *   sent=<n> elapsed_ns=<t> errors=<e> segs=<datagrams per message> port=<source port>
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
/* With UDP_SEGMENT (GSO) one message of SEGS*SIZE bytes crosses the stack
 * once and is cut into SEGS datagrams of SIZE bytes on delivery, so the
 * receiver still sees ordinary datagrams while the sender pays the per-packet
 * path once per SEGS: on a slow core that is what lets one sender outrun a
 * fast receiver.  The kernel caps a GSO message at 64 segments and 64 KiB. */
#define MAX_SEGS 64

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void usage(void) {
    fprintf(stderr, "usage: udp_blast HOST PORT SIZE (--seconds S | --count N) [--no-gso]\n");
    exit(2);
}

int main(int argc, char **argv) {
    if (argc != 6 && !(argc == 7 && strcmp(argv[6], "--no-gso") == 0)) usage();
    int use_gso = argc == 6;
    const char *host = argv[1];
    int port = atoi(argv[2]);
    int size = atoi(argv[3]);
    double seconds = 0;
    long long count = 0;
    if (strcmp(argv[4], "--seconds") == 0) seconds = atof(argv[5]);
    else if (strcmp(argv[4], "--count") == 0) count = atoll(argv[5]);
    else usage();
    if (port <= 0 || port > 65535 || size < 0 || size > 65507) usage();

    struct sockaddr_storage ss;
    socklen_t sslen;
    memset(&ss, 0, sizeof ss);
    int family;
    if (strcmp(host, "127.0.0.1") == 0) {
        struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
        sin->sin_family = family = AF_INET;
        sin->sin_port = htons((unsigned short)port);
        inet_pton(AF_INET, host, &sin->sin_addr);
        sslen = sizeof *sin;
    } else if (strcmp(host, "::1") == 0) {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
        sin6->sin6_family = family = AF_INET6;
        sin6->sin6_port = htons((unsigned short)port);
        inet_pton(AF_INET6, host, &sin6->sin6_addr);
        sslen = sizeof *sin6;
    } else {
        fprintf(stderr, "udp_blast: only loopback (127.0.0.1, ::1) is allowed\n");
        return 2;
    }

    int fd = socket(family, SOCK_DGRAM, 0);
    if (fd < 0) { perror("socket"); return 1; }
    /* Connected, so each message needs no address and the kernel skips the
     * route lookup per datagram. */
    if (connect(fd, (struct sockaddr *)&ss, sslen) < 0) { perror("connect"); return 1; }
    /* The source port, so the harness can check that receivers read it. */
    struct sockaddr_storage local;
    socklen_t locallen = sizeof local;
    getsockname(fd, (struct sockaddr *)&local, &locallen);
    int local_port = ntohs(family == AF_INET ? ((struct sockaddr_in *)&local)->sin_port
                                             : ((struct sockaddr_in6 *)&local)->sin6_port);

    /* segs datagrams per message when GSO works, else one. */
    int segs = 1;
    int gso_size = size;
    if (use_gso && size > 0) {
        segs = 65000 / size;
        if (segs > MAX_SEGS) segs = MAX_SEGS;
        if (segs < 2 || setsockopt(fd, IPPROTO_UDP, UDP_SEGMENT, &gso_size, sizeof gso_size) < 0)
            segs = 1;
    }

    size_t buflen = (size_t)size * (size_t)segs;
    char *payload = calloc(1, buflen > 0 ? buflen : 1);
    for (size_t i = 0; i < buflen; i++) payload[i] = (char)('a' + i % 26);
    struct iovec iov[BATCH];
    struct mmsghdr msgs[BATCH];
    memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < BATCH; i++) {
        iov[i].iov_base = payload;
        iov[i].iov_len = buflen;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }

    long long sent = 0, errors = 0;
    long long start = now_ns();
    long long deadline = seconds > 0 ? start + (long long)(seconds * 1e9) : 0;
    for (;;) {
        int want = BATCH;
        int last_segs = segs;
        if (count > 0) {
            long long left = count - sent;
            if (left <= 0) break;
            /* Whole messages first, then one shorter message for the rest. */
            if (left < (long long)BATCH * segs) {
                want = (int)(left / segs);
                if (want == 0) {
                    want = 1;
                    last_segs = (int)left;
                }
            }
        } else if (now_ns() >= deadline) {
            break;
        }
        iov[want - 1].iov_len = (size_t)size * (size_t)last_segs;
        int n = sendmmsg(fd, msgs, (unsigned)want, 0);
        iov[want - 1].iov_len = buflen;
        if (n < 0) {
            if (errno == EINTR) continue;
            errors++;
            /* The receiver has gone (ICMP port unreachable came back): a
             * flood is over; a fill has failed. */
            if (errno == ECONNREFUSED) break;
            if (errors > 1000000) break;
            continue;
        }
        sent += (long long)n * segs;
        if (n == want && last_segs != segs) sent += last_segs - segs;
    }
    long long elapsed = now_ns() - start;
    printf("sent=%lld elapsed_ns=%lld errors=%lld segs=%d port=%d\n", sent, elapsed, errors, segs,
           local_port);
    return (count > 0 && sent < count) ? 1 : 0;
}
