/* A router of your own: rt-router's kernel plus one handler. `chat:message {room, payload}`
 * joins the sender to the room if needed, relays the message to the other members and acks.
 *
 * It takes every flag of rt-router (custom-router --help).
 */
#include "config.h"
#include "log.h"
#include "options.h"
#include "router.h"
#include <stddef.h>

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
    router_opts_t opts = {0};
    rt_log_set_name("custom-router");
    cfg_result_t res = cfg_parse(options_router(), &opts, argc, argv, "custom-router",
                                 "a router with a chat:message handler");
    if (res != CFG_OK) {
        cfg_free(options_router(), &opts);
        return res == CFG_HELP ? 0 : 2;
    }
    rt_log_set_level((rt_log_level_t)opts.log_level);

    router_t *r = router_new(&opts);
    cfg_free(options_router(), &opts);
    if (!r)
        return 1;
    router_on(r, "chat:message", on_chat, NULL);
    router_run(r);
    router_destroy(&r);
    return 0;
}
