/* Small ZeroMQ helpers: sockets with the project's options, non-blocking sends and
 * receives, and the frame-size + msgpack validation every receiver applies. */
#include "zmqio.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

zsock_t *zmqio_socket(int type, const char *endpoints, bool bind, int hwm)
{
    return zmqio_socket_curve(type, endpoints, bind, hwm, NULL, NULL);
}

zsock_t *zmqio_socket_curve(int type, const char *endpoints, bool bind, int hwm, zcert_t *cert,
                            const char *server_key)
{
    if (!endpoints || !*endpoints) {
        rt_error("zmq socket: no endpoint given");
        return NULL;
    }
    zsock_t *sock = zsock_new(type);
    if (!sock) {
        rt_error("zmq socket: cannot create: %s", zmq_strerror(errno));
        return NULL;
    }
    /* Options first: HWM and handover only apply to connections made afterwards. */
    zsock_set_linger(sock, 0);
    if (hwm > 0) {
        zsock_set_sndhwm(sock, hwm);
        zsock_set_rcvhwm(sock, hwm);
    }
    if (type == ZMQ_ROUTER)
        zsock_set_router_handover(sock, 1);
    /* Without a limit libzmq believes a garbage length header and tries to allocate it
     * (2^62 bytes seen from random TCP bytes); with one it drops that peer's connection. */
    zsock_set_maxmsgsize(sock, (int)(MP_MAX_FRAME + 4096));
    if (cert) {
        zcert_apply(cert, sock);
        if (bind)
            zsock_set_curve_server(sock, 1);
        else
            zsock_set_curve_serverkey(sock, server_key ? server_key : zcert_public_txt(cert));
    }
    if (zsock_attach(sock, endpoints, bind) != 0) {
        rt_error("zmq socket: cannot %s %s: %s", bind ? "bind" : "connect", endpoints,
                 zmq_strerror(errno));
        zsock_destroy(&sock);
        return NULL;
    }
    return sock;
}

int zmqio_send(zsock_t *sock, const void *data, size_t len, bool more)
{
    if (!sock)
        return -1;
    int rc = zmq_send(zsock_resolve(sock), data, len, ZMQ_DONTWAIT | (more ? ZMQ_SNDMORE : 0));
    return rc < 0 ? -1 : 0;
}

/* ZMQ_EVENTS tells without blocking whether a whole message is waiting (multi-part
 * messages are delivered atomically), so zmsg_recv below cannot block. */
zmsg_t *zmqio_recv(zsock_t *sock)
{
    if (!sock || !(zsock_events(sock) & ZMQ_POLLIN))
        return NULL;
    return zmsg_recv(sock);
}

int zmqio_frame_mp(zframe_t *f, mp_t *out)
{
    if (!f || zframe_size(f) == 0 || zframe_size(f) > MP_MAX_FRAME)
        return -1;
    return mp_check(zframe_data(f), zframe_size(f), MP_MAX_DEPTH, out);
}

/* Splits "tcp://HOST:PORT" into its host and port parts (pointers into s). */
static int split_tcp(const char *s, const char **host, size_t *hostlen, const char **port)
{
    if (!s || strncmp(s, "tcp://", 6) != 0)
        return -1;
    const char *h = s + 6;
    const char *colon = strrchr(h, ':');
    if (!colon || colon == h || !colon[1])
        return -1;
    *host = h;
    *hostlen = (size_t)(colon - h);
    *port = colon + 1;
    return 0;
}

static bool wildcard_host(const char *h, size_t n)
{
    return (n == 1 && h[0] == '*') || (n == 7 && memcmp(h, "0.0.0.0", 7) == 0) ||
           (n == 4 && memcmp(h, "[::]", 4) == 0) || (n == 2 && memcmp(h, "::", 2) == 0);
}

int zmqio_peer_endpoint(const char *bound, const char *via, char *out, size_t outlen)
{
    const char *bh, *bp, *vh, *vp;
    size_t bhl, vhl;
    int n;
    if (!bound || !out || outlen == 0)
        return -1;
    if (split_tcp(bound, &bh, &bhl, &bp) < 0 || !wildcard_host(bh, bhl))
        n = snprintf(out, outlen, "%s", bound); /* ipc://, inproc:// or a concrete host */
    else if (split_tcp(via, &vh, &vhl, &vp) < 0)
        return -1;
    else
        n = snprintf(out, outlen, "tcp://%.*s:%s", (int)vhl, vh, bp);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static bool local_one(const char *ep, size_t len)
{
    if ((len > 6 && strncmp(ep, "ipc://", 6) == 0) || (len > 9 && strncmp(ep, "inproc://", 9) == 0))
        return true;
    if (len < 6 || strncmp(ep, "tcp://", 6) != 0)
        return false;
    const char *h = ep + 6;
    size_t n = len - 6;
    if (n > 4 && strncmp(h, "127.", 4) == 0) { /* 127.D.D.D: digits and dots up to the port */
        size_t i = 4;
        while (i < n && (h[i] == '.' || (h[i] >= '0' && h[i] <= '9')))
            i++;
        return i < n && h[i] == ':';
    }
    return (n > 10 && strncmp(h, "localhost:", 10) == 0) || (n > 6 && strncmp(h, "[::1]:", 6) == 0);
}

bool zmqio_local_only(const char *endpoints)
{
    if (!endpoints)
        return true;
    const char *p = endpoints;
    for (;;) {
        while (*p == ' ')
            p++;
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len && !local_one(p, len))
            return false;
        if (!comma)
            return true;
        p = comma + 1;
    }
}
