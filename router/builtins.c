/* The built-in handlers (see builtins.h): thin wrappers over the actions of router.h. */
#include "builtins.h"

static void answer_presence(router_t *r, const rt_msg_t *m)
{
    mpw_t w = MPW_INIT;
    router_presence(r, m->room, &w);
    if (w.oom)
        router_error(r, m, RT_E_INTERNAL, "out of memory");
    else
        router_ack(r, m, mpw_view(&w));
    mpw_free(&w);
}

/* room:join {room, payload?: meta} -> ack {room, members}. Idempotent: a member gets the
 * ack again, without presence:join and with its meta unchanged. */
static void on_join(router_t *r, const rt_msg_t *m, void *arg)
{
    (void)arg;
    if (!m->room) {
        router_error(r, m, RT_E_BAD_REQUEST, "room required");
        return;
    }
    mp_t meta = m->payload;
    if (!mp_is_nil(meta) && mp_type(meta) != MP_MAP) {
        router_error(r, m, RT_E_BAD_REQUEST, "meta must be an object");
        return;
    }
    rt_err_t e = router_join(r, m->conn, m->room, meta);
    if (e == RT_E_BAD_REQUEST)
        router_error(r, m, e, "meta must be an object of at most 1 KiB");
    else if (e == RT_E_LIMIT)
        router_error(r, m, e, "too many rooms for this connection");
    else if (e != RT_OK)
        router_error(r, m, e, "cannot join");
    else
        answer_presence(r, m);
}

static void on_leave(router_t *r, const rt_msg_t *m, void *arg)
{
    (void)arg;
    if (!m->room) {
        router_error(r, m, RT_E_BAD_REQUEST, "room required");
        return;
    }
    rt_err_t e = router_leave(r, m->conn, m->room);
    if (e != RT_OK)
        router_error(r, m, e, "not a member of this room");
    else
        router_ack(r, m, MP_NONE);
}

static void on_presence_list(router_t *r, const rt_msg_t *m, void *arg)
{
    (void)arg;
    if (!m->room)
        router_error(r, m, RT_E_BAD_REQUEST, "room required");
    else if (!router_is_member(r, m->conn, m->room))
        router_error(r, m, RT_E_NOT_IN_ROOM, "not a member of this room");
    else
        answer_presence(r, m);
}

static void on_ping(router_t *r, const rt_msg_t *m, void *arg)
{
    (void)arg;
    router_ack(r, m, MP_NONE);
}

/* The webrtc: types of the contract belong to services: service patterns come
 * before these handlers, so they only answer while no service has registered the type. Other
 * webrtc: types have no handler: unknown_type, unless a service pattern takes them. */
static void on_webrtc(router_t *r, const rt_msg_t *m, void *arg)
{
    (void)arg;
    router_error(r, m, RT_E_UNAVAILABLE, "no signaling service");
}

static const char *const webrtc_types[] = {"webrtc:offer", "webrtc:answer", "webrtc:candidate",
                                           "webrtc:bye", "webrtc:join"};

int builtins_register(router_t *r)
{
    if (router_on_first(r, "room:join", on_join, NULL) != 0 ||
        router_on_first(r, "room:leave", on_leave, NULL) != 0 ||
        router_on_first(r, "presence:list", on_presence_list, NULL) != 0 ||
        router_on_first(r, "ping", on_ping, NULL) != 0)
        return -1;
    for (size_t i = 0; i < sizeof webrtc_types / sizeof *webrtc_types; i++)
        if (router_on(r, webrtc_types[i], on_webrtc, NULL) != 0)
            return -1;
    return 0;
}
