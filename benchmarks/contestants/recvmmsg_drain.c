/*
 * recvmmsg_drain: the floor of the drain benchmark.  It does what any
 * receiver must do at the least (move each queued datagram out of the kernel
 * and look at its length and source port), batched with recvmmsg(2), with no
 * event loop and no per-datagram allocation.
 *
 * Protocol (same as every drain reader, see benchmarks/run.py):
 *   stdout  PORT <port> <rcvbuf>          bound to 127.0.0.1:0, buffer sized
 *   stdin   GO <n>                        the harness has queued n datagrams
 *   stdout  RESULT count=<c> bytes=<b> elapsed_ns=<t> port_sum=<p>
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MAXLEN 2048

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
    int want_buf = argc > 1 ? atoi(argv[1]) : 64 << 20;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) { perror("socket"); return 1; }
    /* SO_RCVBUFFORCE ignores net.core.rmem_max (needs CAP_NET_ADMIN); fall
     * back to the capped SO_RCVBUF otherwise. */
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want_buf, sizeof want_buf) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want_buf, sizeof want_buf);
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0) { perror("bind"); return 1; }
    socklen_t len = sizeof sin;
    getsockname(fd, (struct sockaddr *)&sin, &len);
    int got_buf = 0;
    socklen_t optlen = sizeof got_buf;
    getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got_buf, &optlen);
    printf("PORT %d %d\n", ntohs(sin.sin_port), got_buf);
    fflush(stdout);

    char line[64];
    if (!fgets(line, sizeof line, stdin)) return 1;
    long long expect = 0;
    if (sscanf(line, "GO %lld", &expect) != 1) return 1;

    static char bufs[BATCH][MAXLEN];
    struct iovec iov[BATCH];
    struct sockaddr_in from[BATCH];
    struct mmsghdr msgs[BATCH];
    long long count = 0, bytes = 0, port_sum = 0;
    long long start = now_ns(), last = start;
    for (;;) {
        memset(msgs, 0, sizeof msgs);
        for (int i = 0; i < BATCH; i++) {
            iov[i].iov_base = bufs[i];
            iov[i].iov_len = MAXLEN;
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_name = &from[i];
            msgs[i].msg_hdr.msg_namelen = sizeof from[i];
        }
        /* The queue was filled before GO, so "would block" means empty. */
        int n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < n; i++) {
            bytes += msgs[i].msg_len;
            port_sum += ntohs(from[i].sin_port);
        }
        count += n;
        last = now_ns();
        if (count >= expect) break;
    }
    printf("RESULT count=%lld bytes=%lld elapsed_ns=%lld port_sum=%lld\n",
           count, bytes, last - start, port_sum);
    return 0;
}
