/*
 * _batch.c: the C half of dgram_uv's batched UDP receiver (see _batch.py).
 *
 * One recvmmsg(2) call reads up to DGRAM_UV_SLOTS datagrams, each into its
 * own 64 KiB slot of one buffer; the payloads are then moved down so that
 * they lie back to back from the start of the buffer.  Python copies that
 * packed area into ONE bytes object per batch and slices it per datagram,
 * which costs far less than one foreign call per datagram.
 *
 * Consecutive datagrams from the same sender form a "run".  After the
 * payloads come the raw sender addresses of the runs, DGRAM_UV_KEY_SIZE
 * bytes each, so Python decodes an address (or finds it in its cache) once
 * per run instead of once per datagram.
 *
 * A batch is shared by all the sockets of one loop and is only used from
 * that loop's thread; nothing in it is kept between two calls.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

/* Larger than any UDP payload (65507 bytes over IPv4, 65527 over IPv6), so a
 * datagram is never truncated and MSG_TRUNC cannot occur. */
#define DGRAM_UV_SLOT_SIZE 65536
/* Slots 64 KiB apart would all map to the same cache sets; a cache line of
 * padding per slot spreads them out. */
#define DGRAM_UV_STRIDE (DGRAM_UV_SLOT_SIZE + 64)
#define DGRAM_UV_KEY_SIZE 28 /* sizeof(struct sockaddr_in6) */

struct dgram_uv_batch {
    int slots;
    int vlen;   /* datagrams asked of the next recvmmsg call, <= slots */
    int budget; /* payload bytes one call should aim at (see dgram_uv_recv) */
    unsigned char *data; /* slots * STRIDE + slots * KEY_SIZE bytes */
    struct mmsghdr *msgs;
    struct iovec *iov;
    struct sockaddr_in6 *names;
    /* Output of dgram_uv_recv(), for n datagrams in r runs:
     *   info[0]            r
     *   info[1 .. n]       end offset of each payload in data
     *   info[n+1 .. n+r]   index one past the last datagram of each run */
    uint32_t *info;
};

static void dgram_uv_batch_free(struct dgram_uv_batch *b)
{
    if (b == NULL)
        return;
    free(b->data);
    free(b->msgs);
    free(b->iov);
    free(b->names);
    free(b->info);
    free(b);
}

static struct dgram_uv_batch *dgram_uv_batch_new(int slots, int budget)
{
    struct dgram_uv_batch *b;
    int i;

    if (slots < 1 || slots > 1024 || budget < 1)
        return NULL;
    b = calloc(1, sizeof *b);
    if (b == NULL)
        return NULL;
    b->slots = b->vlen = slots;
    b->budget = budget;
    /* malloc of megabytes maps fresh pages: only the pages that datagrams
     * actually reach become resident. */
    b->data = malloc((size_t)slots * (DGRAM_UV_STRIDE + DGRAM_UV_KEY_SIZE));
    b->msgs = calloc(slots, sizeof *b->msgs);
    b->iov = calloc(slots, sizeof *b->iov);
    b->names = calloc(slots, sizeof *b->names);
    b->info = calloc(2 * slots + 1, sizeof *b->info);
    if (!b->data || !b->msgs || !b->iov || !b->names || !b->info) {
        dgram_uv_batch_free(b);
        return NULL;
    }
    for (i = 0; i < slots; i++) {
        b->iov[i].iov_base = b->data + (size_t)i * DGRAM_UV_STRIDE;
        b->iov[i].iov_len = DGRAM_UV_SLOT_SIZE;
        b->msgs[i].msg_hdr.msg_iov = &b->iov[i];
        b->msgs[i].msg_hdr.msg_iovlen = 1;
        b->msgs[i].msg_hdr.msg_name = &b->names[i];
    }
    return b;
}

static char *dgram_uv_batch_data(struct dgram_uv_batch *b)
{
    return (char *)b->data;
}

static uint32_t *dgram_uv_batch_info(struct dgram_uv_batch *b)
{
    return b->info;
}

/* Read what one recvmmsg call gives from fd and lay it out as described at
 * the top.  Returns the number of datagrams (0 when none was waiting), or
 * -errno on failure. */
static int dgram_uv_recv(struct dgram_uv_batch *b, int fd)
{
    uint32_t *ends = b->info + 1;
    uint32_t *run_ends;
    size_t total = 0, mean, vlen;
    socklen_t namelen;
    int i, n, runs = 0, first;

    for (i = 0; i < b->vlen; i++)
        b->msgs[i].msg_hdr.msg_namelen = sizeof b->names[i];
    do
        n = recvmmsg(fd, b->msgs, b->vlen, MSG_DONTWAIT, NULL);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
    if (n == 0)
        return 0;

    run_ends = ends + n;
    for (i = 0; i < n; i++) {
        unsigned int len = b->msgs[i].msg_len;

        /* The destination never passes the source: memmove is safe. */
        if (i > 0)
            memmove(b->data + total, b->iov[i].iov_base, len);
        total += len;
        ends[i] = (uint32_t)total;
        namelen = b->msgs[i].msg_hdr.msg_namelen;
        if (i > 0 && (namelen != b->msgs[i - 1].msg_hdr.msg_namelen
                      || memcmp(&b->names[i], &b->names[i - 1], namelen) != 0))
            run_ends[runs++] = (uint32_t)i;
    }
    run_ends[runs++] = (uint32_t)n;
    b->info[0] = (uint32_t)runs;

    /* Large datagrams: ask for fewer next time, so that about `budget`
     * bytes (at this batch's mean size) pass through the slots.  The
     * kernel's copies, the compaction and Python's copies then stay in
     * cache: 256 slots of 64 KiB would sweep 16 MiB and take twice as long
     * per datagram. */
    mean = total / (size_t)n;
    vlen = mean > 0 ? (size_t)b->budget / mean : (size_t)b->slots;
    b->vlen = vlen < 1 ? 1 : vlen > (size_t)b->slots ? b->slots : (int)vlen;

    /* Every payload has been moved, so the space after them is free. */
    for (i = 0, first = 0; i < runs; first = (int)run_ends[i], i++) {
        unsigned char *key = b->data + total + (size_t)i * DGRAM_UV_KEY_SIZE;

        namelen = b->msgs[first].msg_hdr.msg_namelen;
        if (namelen > DGRAM_UV_KEY_SIZE)
            namelen = DGRAM_UV_KEY_SIZE;
        memcpy(key, &b->names[first], namelen);
        memset(key + namelen, 0, DGRAM_UV_KEY_SIZE - namelen);
    }
    return n;
}

/* libuv 1.13 (bundled with pyuv 1.4.0) leaves a closed uv_poll's descriptor
 * registered in epoll; once that descriptor is closed, the registration
 * lives on as long as the socket (still open through the UDP handle) and
 * cannot be removed any more.  So remove it before closing the descriptor. */
static int dgram_uv_epoll_forget(int epfd, int fd)
{
    struct epoll_event dummy;

    memset(&dummy, 0, sizeof dummy);
    return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, &dummy) == 0 ? 0 : -errno;
}
