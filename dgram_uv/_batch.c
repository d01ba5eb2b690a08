/*
 * _batch.c: the C half of dgram_uv's batched UDP receiver (see _batch.py).
 *
 * One recvmmsg(2) call reads up to `vlen` datagrams, each into its own
 * 64 KiB slot of one buffer.  Instead of handing Python a list of offsets,
 * it writes a struct-module format that describes the batch, e.g.
 *
 *     "64s65536x0s65600x...1400s<pad>x28s28s"
 *
 * one "<len>s" per datagram with "<pad>x" skipping to the next slot, then
 * one "28s" per run: consecutive datagrams from the same sender form a
 * run, and the run's raw sender address sits in a key area after the
 * slots.  Python's struct.unpack_from(format, buffer) then builds every
 * payload's bytes object (copied straight from the slot) and every run's
 * key in one C-level call, which costs far less per datagram than slicing
 * in a Python loop.  info[] holds the index one past each run's last
 * datagram.
 *
 * A batch is shared by all the sockets of one loop and only used from that
 * loop's thread; Python copies everything out before the next read.
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
/* Raised whenever the interface to _batch.py changes: an editable install
 * keeps a stale build until it is rebuilt, and _batch.py refuses one. */
#define DGRAM_UV_BATCH_ABI 4
/* Longest format text per datagram ("65535s65600x") and per run ("28s"). */
#define DGRAM_UV_FMT_PER_SLOT 12
#define DGRAM_UV_FMT_PER_RUN 3

struct dgram_uv_batch {
    int slots;
    int vlen;   /* datagrams asked of the next recvmmsg call, <= slots */
    int budget; /* payload bytes one call should aim at (see dgram_uv_recv) */
    int filled; /* datagrams the last call read, whose msg_namelen it changed */
    unsigned char *data; /* slots * STRIDE bytes of slots, then the key area */
    struct mmsghdr *msgs;
    struct iovec *iov;
    struct sockaddr_in6 *names;
    uint32_t *info;      /* run ends, see the top */
    uint32_t first_len;  /* the first datagram's length (a lone one is read without the format) */
    char *fmt;           /* the struct format of the last batch, NUL-terminated */
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
    free(b->fmt);
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
    b->info = calloc(slots, sizeof *b->info);
    b->fmt = malloc((size_t)slots * (DGRAM_UV_FMT_PER_SLOT + DGRAM_UV_FMT_PER_RUN) + 32);
    if (!b->data || !b->msgs || !b->iov || !b->names || !b->info || !b->fmt) {
        dgram_uv_batch_free(b);
        return NULL;
    }
    for (i = 0; i < slots; i++) {
        b->iov[i].iov_base = b->data + (size_t)i * DGRAM_UV_STRIDE;
        b->iov[i].iov_len = DGRAM_UV_SLOT_SIZE;
        b->msgs[i].msg_hdr.msg_iov = &b->iov[i];
        b->msgs[i].msg_hdr.msg_iovlen = 1;
        b->msgs[i].msg_hdr.msg_name = &b->names[i];
        b->msgs[i].msg_hdr.msg_namelen = sizeof b->names[i];
    }
    b->fmt[0] = '\0';
    return b;
}

/* The whole buffer, slots and key area, as struct.unpack_from reads it. */
static char *dgram_uv_batch_data(struct dgram_uv_batch *b)
{
    return (char *)b->data;
}

static size_t dgram_uv_batch_size(struct dgram_uv_batch *b)
{
    return (size_t)b->slots * (DGRAM_UV_STRIDE + DGRAM_UV_KEY_SIZE);
}

static uint32_t *dgram_uv_batch_info(struct dgram_uv_batch *b)
{
    return b->info;
}

static uint32_t *dgram_uv_batch_first_len(struct dgram_uv_batch *b)
{
    return &b->first_len;
}

static char *dgram_uv_batch_format(struct dgram_uv_batch *b)
{
    return b->fmt;
}

/* Append the decimal digits of v and then the code c. */
static char *put_item(char *p, size_t v, char c)
{
    char digits[24];
    int k = 0;

    do
        digits[k++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (k > 0)
        *p++ = digits[--k];
    *p++ = c;
    return p;
}

static int same_sender(struct dgram_uv_batch *b, int i, int j)
{
    socklen_t len = b->msgs[i].msg_hdr.msg_namelen;

    return len == b->msgs[j].msg_hdr.msg_namelen
        && memcmp(&b->names[i], &b->names[j], len) == 0;
}

/* Read what one recvmmsg call gives from fd and describe it as at the top.
 * Returns the number of datagrams (0 when none was waiting), or -errno. */
static int dgram_uv_recv(struct dgram_uv_batch *b, int fd)
{
    unsigned char *keys = b->data + (size_t)b->slots * DGRAM_UV_STRIDE;
    char *p = b->fmt;
    size_t total = 0, mean, vlen;
    socklen_t namelen;
    int i, n, runs = 0;

    /* The kernel shortens msg_namelen only for the datagrams it wrote:
     * restore those of the last call, not all the slots (a lone datagram
     * would otherwise touch a cache line per slot). */
    for (i = 0; i < b->filled; i++)
        b->msgs[i].msg_hdr.msg_namelen = sizeof b->names[i];
    b->filled = 0;
    do
        n = recvmmsg(fd, b->msgs, b->vlen, MSG_DONTWAIT, NULL);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
    if (n == 0)
        return 0;
    b->filled = n;
    b->first_len = b->msgs[0].msg_len;

    for (i = 0; i < n; i++) {
        unsigned int len = b->msgs[i].msg_len;

        total += len;
        p = put_item(p, len, 's');
        if (i + 1 < n)
            p = put_item(p, DGRAM_UV_STRIDE - len, 'x');
        else /* on to the key area */
            p = put_item(p, (size_t)(b->slots - i) * DGRAM_UV_STRIDE - len, 'x');
        if (i == 0 || !same_sender(b, i, i - 1)) {
            if (i > 0)
                b->info[runs - 1] = (uint32_t)i;
            namelen = b->msgs[i].msg_hdr.msg_namelen;
            if (namelen > DGRAM_UV_KEY_SIZE)
                namelen = DGRAM_UV_KEY_SIZE;
            memcpy(keys + (size_t)runs * DGRAM_UV_KEY_SIZE, &b->names[i], namelen);
            memset(keys + (size_t)runs * DGRAM_UV_KEY_SIZE + namelen, 0,
                   DGRAM_UV_KEY_SIZE - namelen);
            runs++;
        }
    }
    b->info[runs - 1] = (uint32_t)n;
    for (i = 0; i < runs; i++)
        p = put_item(p, DGRAM_UV_KEY_SIZE, 's');
    *p = '\0';

    /* Large datagrams: ask for fewer next time, so that about `budget`
     * bytes (at this batch's mean size) pass through the slots.  The
     * kernel's copies and Python's then stay in cache: 256 slots of 64 KiB
     * would sweep 16 MiB and take twice as long per datagram. */
    mean = total / (size_t)n;
    vlen = mean > 0 ? (size_t)b->budget / mean : (size_t)b->slots;
    b->vlen = vlen < 1 ? 1 : vlen > (size_t)b->slots ? b->slots : (int)vlen;
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
