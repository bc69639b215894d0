/* A router of your own: rt-router's kernel plus one handler. `chat:message {room, payload}`
 * joins the sender to the room if needed, relays the message to the other members and acks.
 *
 * It takes every flag of rt-router (custom-router --help).
 */
#include "router.h"

static void on_chat(router_t *r, const rt_msg_t *m, void *arg)
{
    (void)arg;
    if (!m->room) {
        router_error(r, m, RT_E_BAD_REQUEST, "room required");
        return;
    }
    rt_err_t e = router_join(r, m->conn, m->room, MP_NONE); /* no-op for a member */
    if (e != RT_OK) {
        router_error(r, m, e, "cannot join");
        return;
    }
    router_publish(r, m->room, m->type, m->conn, m->payload, m->conn);
    router_ack(r, m, MP_NONE);
}

int main(int argc, char **argv)
{
    int rc;
    router_t *r = router_from_args(argc, argv, "custom-router",
                                   "a router with a chat:message handler", &rc);
    if (!r)
        return rc;
    router_on(r, "chat:message", on_chat, NULL);
    rc = router_run(r);
    router_destroy(&r);
    return rc;
}
