/*
 * echo_mmsg: the floor of the echo benchmark.  A UDP echo server on
 * 127.0.0.1:0 that reads with recvmmsg(2) (up to 64 datagrams per call,
 * blocking until at least one) and answers the whole batch with one
 * sendmmsg(2), each reply to its request's sender.  Default receive buffer,
 * like every other echo server of the benchmark.  No event loop, no
 * allocation per datagram.
 *
 * Prints "PORT <port> <rcvbuf>" and echoes until it is killed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BATCH 64
#define MAXLEN 2048

int main(void) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0) { perror("socket"); return 1; }
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0) { perror("bind"); return 1; }
    socklen_t len = sizeof sin;
    getsockname(fd, (struct sockaddr *)&sin, &len);
    int rcvbuf = 0;
    socklen_t optlen = sizeof rcvbuf;
    getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, &optlen);
    printf("PORT %d %d\n", ntohs(sin.sin_port), rcvbuf);
    fflush(stdout);

    static char bufs[BATCH][MAXLEN];
    static struct iovec iov[BATCH];
    static struct sockaddr_in from[BATCH];
    static struct mmsghdr msgs[BATCH];
    for (;;) {
        for (int i = 0; i < BATCH; i++) {
            iov[i].iov_base = bufs[i];
            iov[i].iov_len = MAXLEN;
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_name = &from[i];
            msgs[i].msg_hdr.msg_namelen = sizeof from[i];
            msgs[i].msg_hdr.msg_control = NULL;
            msgs[i].msg_hdr.msg_controllen = 0;
            msgs[i].msg_hdr.msg_flags = 0;
        }
        int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
        if (n < 0) {
            if (errno == EINTR) continue;
            perror("recvmmsg");
            return 1;
        }
        /* The same headers go back out: each reply to its sender, its length. */
        for (int i = 0; i < n; i++) iov[i].iov_len = msgs[i].msg_len;
        int done = 0;
        while (done < n) {
            int k = sendmmsg(fd, msgs + done, (unsigned)(n - done), 0);
            if (k < 0) {
                if (errno == EINTR) continue;
                break; /* EAGAIN or a vanished client: those replies are lost */
            }
            done += k;
        }
    }
}
