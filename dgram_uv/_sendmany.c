/*
 * _sendmany.c: the C half of dgram_uv's sending beside libuv (see
 * _outbox.py).  Compiled into the same cffi module as _batch.c (see
 * _batch_build.py).
 *
 * dgram_uv_sendmmsg: one sendmmsg(2) call sends up to DGRAM_UV_SEND_MAX
 * datagrams whose payloads lie back to back in one buffer and whose
 * destinations (struct sockaddr of one family, namelen bytes each) lie back
 * to back in another.  dgram_uv_sendto: one datagram, on a cached sockaddr.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#define DGRAM_UV_SEND_MAX 256

/* Returns how many datagrams the call sent (at least one), or -errno: the
 * error of the first datagram. */
static int dgram_uv_sendmmsg(int fd, const char *data, const uint32_t *lens,
                             const char *names, int namelen, int count)
{
    struct mmsghdr msgs[DGRAM_UV_SEND_MAX];
    struct iovec iov[DGRAM_UV_SEND_MAX];
    size_t offset = 0;
    int i, n;

    if (count > DGRAM_UV_SEND_MAX)
        count = DGRAM_UV_SEND_MAX;
    memset(msgs, 0, sizeof msgs[0] * (size_t)count);
    for (i = 0; i < count; i++) {
        iov[i].iov_base = (void *)(data + offset);
        iov[i].iov_len = lens[i];
        offset += lens[i];
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
        msgs[i].msg_hdr.msg_name = (void *)(names + (size_t)i * (size_t)namelen);
        msgs[i].msg_hdr.msg_namelen = (socklen_t)namelen;
    }
    do
        n = sendmmsg(fd, msgs, (unsigned int)count, MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : n;
}

/* One datagram to one destination (struct sockaddr, namelen bytes): the
 * common send, without pyuv's per-call address parsing.  Returns 0, or
 * -errno (EAGAIN included: the caller hands the datagram to libuv). */
static int dgram_uv_sendto(int fd, const char *data, size_t len,
                           const char *name, int namelen)
{
    ssize_t n;

    do
        n = sendto(fd, data, len, MSG_DONTWAIT, (const struct sockaddr *)name,
                   (socklen_t)namelen);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : 0;
}
