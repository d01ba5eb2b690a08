/*
 * echo_load: the closed-loop load generator of the echo benchmark.
 *
 *   echo_load HOST PORT [--clients 32] [--inflight 8] [--size 64]
 *             [--warmup 0.5] [--seconds 3] [--deadline-ms 50] [--slice-ms 100]
 *
 * CLIENTS UDP sockets (each connect()ed to the server, so it only hears the
 * server) each keep INFLIGHT requests of SIZE bytes outstanding.  A request
 * carries (client, slot, sequence number); a reply must echo it byte for byte
 * or it counts as bad.  A reply frees its slot, which is refilled at once
 * (replies read with recvmmsg, the refills of one socket sent with one
 * sendmmsg).  A request unanswered after the deadline is counted as re-sent
 * and replaced by a new one in the same slot; an answer to a replaced request
 * that still arrives is counted as late.  So lost = resent - late.
 *
 * HOST must be 127.0.0.1 (loopback only).  Prints, on stdout:
 *   WINDOW                                    when the measured window opens
 *   RESULT replies=<> sent=<> resent=<> late=<> bad=<> elapsed_ns=<> p50_ns=<> p99_ns=<>
 *   SLICES <replies in slice 1> <slice 2> ...  per --slice-ms of the window
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MAXLEN 2048

struct slot {
    uint64_t seq;
    long long sent_ns;
};

struct header {
    uint32_t client;
    uint32_t slot;
    uint64_t seq;
};

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmp_ll(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static int clients = 32, inflight = 8, size = 64;
static struct slot *slots;
static uint64_t next_seq = 1;

static void fill(char *buf, int client, int slot, uint64_t seq) {
    struct header h = {(uint32_t)client, (uint32_t)slot, seq};
    memcpy(buf, &h, sizeof h);
    for (int i = (int)sizeof h; i < size; i++) buf[i] = (char)(seq + (uint64_t)i);
}

static int matches(const char *buf, int got, struct header *h) {
    if (got != size) return 0;
    memcpy(h, buf, sizeof *h);
    for (int i = (int)sizeof *h; i < size; i++)
        if (buf[i] != (char)(h->seq + (uint64_t)i)) return 0;
    return (int)h->client < clients && (int)h->slot < inflight;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: echo_load 127.0.0.1 PORT [options]\n");
        return 2;
    }
    if (strcmp(argv[1], "127.0.0.1") != 0) {
        fprintf(stderr, "echo_load: only 127.0.0.1 is allowed\n");
        return 2;
    }
    int port = atoi(argv[2]);
    double warmup = 0.5, seconds = 3.0, deadline_ms = 50, slice_ms = 100;
    for (int i = 3; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (strcmp(k, "--clients") == 0) clients = atoi(v);
        else if (strcmp(k, "--inflight") == 0) inflight = atoi(v);
        else if (strcmp(k, "--size") == 0) size = atoi(v);
        else if (strcmp(k, "--warmup") == 0) warmup = atof(v);
        else if (strcmp(k, "--seconds") == 0) seconds = atof(v);
        else if (strcmp(k, "--deadline-ms") == 0) deadline_ms = atof(v);
        else if (strcmp(k, "--slice-ms") == 0) slice_ms = atof(v);
        else { fprintf(stderr, "unknown option %s\n", k); return 2; }
    }
    if (port <= 0 || port > 65535 || clients < 1 || inflight < 1 || inflight > BATCH ||
        size < (int)sizeof(struct header) || size > MAXLEN) {
        fprintf(stderr, "bad arguments\n");
        return 2;
    }
    struct sockaddr_in server;
    memset(&server, 0, sizeof server);
    server.sin_family = AF_INET;
    server.sin_port = htons((unsigned short)port);
    server.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    int ep = epoll_create1(0);
    int *fds = calloc((size_t)clients, sizeof *fds);
    slots = calloc((size_t)clients * (size_t)inflight, sizeof *slots);
    for (int c = 0; c < clients; c++) {
        fds[c] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
        if (fds[c] < 0 || connect(fds[c], (struct sockaddr *)&server, sizeof server) < 0) {
            perror("socket/connect");
            return 1;
        }
        struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)c};
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[c], &ev);
    }

    static char rbufs[BATCH][MAXLEN], sbufs[BATCH][MAXLEN];
    static struct iovec riov[BATCH], siov[BATCH];
    static struct mmsghdr rmsgs[BATCH], smsgs[BATCH];
    for (int i = 0; i < BATCH; i++) {
        siov[i].iov_base = sbufs[i];
        siov[i].iov_len = (size_t)size;
        smsgs[i].msg_hdr.msg_iov = &siov[i];
        smsgs[i].msg_hdr.msg_iovlen = 1;
    }

    long long start = now_ns();
    long long t_open = start + (long long)(warmup * 1e9);
    long long t_close = t_open + (long long)(seconds * 1e9);
    long long deadline = (long long)(deadline_ms * 1e6);
    long long slice_ns = (long long)(slice_ms * 1e6);
    int nslices = (int)((t_close - t_open) / slice_ns);
    long long *slice = calloc((size_t)nslices + 1, sizeof *slice);
    size_t cap = 1 << 20, nsamples = 0;
    long long *samples = malloc(cap * sizeof *samples);
    long long replies = 0, sent = 0, resent = 0, late = 0, bad = 0;
    int measuring = 0;

    /* Every slot gets its first request. */
    long long t = now_ns();
    for (int c = 0; c < clients; c++) {
        for (int s = 0; s < inflight; s++) {
            struct slot *sl = &slots[c * inflight + s];
            sl->seq = next_seq++;
            sl->sent_ns = t;
            fill(sbufs[s], c, s, sl->seq);
        }
        int k = sendmmsg(fds[c], smsgs, (unsigned)inflight, 0);
        if (k < 0) { perror("sendmmsg"); return 1; }
    }
    long long last_scan = t;
    for (;;) {
        struct epoll_event evs[64];
        int ready = epoll_wait(ep, evs, 64, 5);
        if (ready < 0 && errno != EINTR) { perror("epoll_wait"); return 1; }
        t = now_ns();
        if (!measuring && t >= t_open) {
            measuring = 1;
            t_open = t;
            t_close = t_open + (long long)(seconds * 1e9);
            printf("WINDOW\n");
            fflush(stdout);
        }
        if (measuring && t >= t_close) break;
        for (int e = 0; e < ready; e++) {
            int c = (int)evs[e].data.u32;
            for (;;) {
                for (int i = 0; i < BATCH; i++) {
                    riov[i].iov_base = rbufs[i];
                    riov[i].iov_len = MAXLEN;
                    memset(&rmsgs[i].msg_hdr, 0, sizeof rmsgs[i].msg_hdr);
                    rmsgs[i].msg_hdr.msg_iov = &riov[i];
                    rmsgs[i].msg_hdr.msg_iovlen = 1;
                }
                int n = recvmmsg(fds[c], rmsgs, BATCH, MSG_DONTWAIT, NULL);
                if (n < 0) {
                    if (errno == ECONNREFUSED) { fprintf(stderr, "server gone\n"); return 1; }
                    break; /* EAGAIN: this socket is empty */
                }
                t = now_ns();
                int out = 0;
                for (int i = 0; i < n; i++) {
                    struct header h;
                    if (!matches(rbufs[i], (int)rmsgs[i].msg_len, &h) || (int)h.client != c) {
                        if (measuring) bad++;
                        continue;
                    }
                    struct slot *sl = &slots[c * inflight + (int)h.slot];
                    if (h.seq != sl->seq) {
                        if (measuring) late++;
                        continue;
                    }
                    if (measuring && t < t_close) {
                        replies++;
                        long long idx = (t - t_open) / slice_ns;
                        if (idx < nslices) slice[idx]++;
                        if (nsamples == cap) {
                            cap *= 2;
                            samples = realloc(samples, cap * sizeof *samples);
                        }
                        samples[nsamples++] = t - sl->sent_ns;
                    }
                    sl->seq = next_seq++;
                    sl->sent_ns = t;
                    fill(sbufs[out++], c, (int)h.slot, sl->seq);
                }
                if (out > 0) {
                    int k = sendmmsg(fds[c], smsgs, (unsigned)out, 0);
                    /* A refill that did not go out is caught by the deadline. */
                    if (k > 0 && measuring) sent += k;
                }
                if (n < BATCH) break;
            }
        }
        if (t - last_scan >= deadline / 4) {
            last_scan = t;
            for (int c = 0; c < clients; c++) {
                for (int s = 0; s < inflight; s++) {
                    struct slot *sl = &slots[c * inflight + s];
                    if (t - sl->sent_ns < deadline) continue;
                    if (measuring) resent++;
                    sl->seq = next_seq++;
                    sl->sent_ns = t;
                    fill(sbufs[0], c, s, sl->seq);
                    if (send(fds[c], sbufs[0], (size_t)size, 0) == size && measuring) sent++;
                }
            }
        }
    }
    qsort(samples, nsamples, sizeof *samples, cmp_ll);
    long long p50 = nsamples ? samples[nsamples / 2] : 0;
    size_t i99 = (size_t)((double)nsamples * 0.99);
    long long p99 = nsamples ? samples[i99 < nsamples ? i99 : nsamples - 1] : 0;
    printf("RESULT replies=%lld sent=%lld resent=%lld late=%lld bad=%lld elapsed_ns=%lld "
           "p50_ns=%lld p99_ns=%lld\n",
           replies, sent, resent, late, bad, t_close - t_open, p50, p99);
    printf("SLICES");
    for (int i = 0; i < nslices; i++) printf(" %lld", slice[i]);
    printf("\n");
    fflush(stdout);
    return 0;
}
