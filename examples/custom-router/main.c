/* A router of your own: rt-router's kernel plus one handler. `chat:message {room, payload}`
 * joins the sender to the room if needed, relays the message to the other members and acks.
 *
 *     custom-router [--ingress ENDPOINT] [--fanout ENDPOINT]
 */
#include <stddef.h>
#include "config.h"
#include "log.h"
#include "router.h"

static void on_chat(router_t *r, const rt_msg_t *m, void *arg)
{
    (void)arg;
    if (!m->room) {
        router_error(r, m, RT_E_BAD_REQUEST, "room required");
        return;
    }
    rt_err_t e = router_join(r, m->conn, m->room, MP_NONE);   /* no-op for a member */
    if (e != RT_OK) {
        router_error(r, m, e, "cannot join");
        return;
    }
    router_publish(r, m->room, m->type, m->conn, m->payload, m->conn);
    router_ack(r, m, MP_NONE);
}

static const cfg_option_t options[] = {
    { "ingress", CFG_STR, "tcp://*:5555", 0, -1, offsetof(router_opts_t, ingress),
      "gateway ingress (ZeroMQ ROUTER, bound)", cfg_check_endpoint },
    { "fanout", CFG_STR, "tcp://*:5556", 0, -1, offsetof(router_opts_t, fanout),
      "gateway fan-out (ZeroMQ PUB, bound)", cfg_check_endpoint },
    { "log-level", CFG_LEVEL, "info", 0, -1, offsetof(router_opts_t, log_level),
      "error, warn, info or debug", NULL },
    CFG_END
};

int main(int argc, char **argv)
{
    router_opts_t opts;
    router_opts_default(&opts);
    opts.ingress = opts.fanout = NULL;
    rt_log_set_name("custom-router");
    cfg_result_t res = cfg_parse(options, &opts, argc, argv, "custom-router",
                                 "a router with a chat:message handler");
    if (res != CFG_OK)
        return res == CFG_HELP ? 0 : 2;
    rt_log_set_level((rt_log_level_t)opts.log_level);

    router_t *r = router_new(&opts);
    cfg_free(options, &opts);
    if (!r)
        return 1;
    router_on(r, "chat:message", on_chat, NULL);
    router_run(r);
    router_destroy(&r);
    return 0;
}
