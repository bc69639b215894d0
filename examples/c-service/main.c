/* shout: a service in C on the service library (rtservice), as a template.
 * Clients send {"type":"shout:say","room":R,"id":1,"payload":{"text":"hi"}}; every member of R
 * gets {"type":"shout:said","room":R,"from":SENDER,"payload":{"text":"HI"}} and the sender's
 * ack is {"length":2}. A payload without a string `text` gets bad_request.
 *   shout [--router-api tcp://127.0.0.1:5557] [--log-level info]
 * Outside this tree, against an installed library:
 *   cc main.c -o shout $(pkg-config --cflags --libs rtservice) */
#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <rtservice/config.h>
#include <rtservice/log.h>
#include <rtservice/service.h>

typedef struct {
    char *router_api;
    int log_level;
} opts_t;

static const cfg_option_t table[] = {
    {"router-api", CFG_STR, "tcp://127.0.0.1:5557", 0, -1, offsetof(opts_t, router_api),
     "the router's service API endpoint", cfg_check_endpoint},
    {"log-level", CFG_LEVEL, "info", 0, -1, offsetof(opts_t, log_level),
     "error, warn, info or debug", NULL},
    CFG_END};

static void on_say(svc_request_t *req, void *arg)
{
    const char *text;
    size_t len;
    if (!req->room || mp_str(mp_get(req->payload, "text"), &text, &len) != 0) {
        svc_error(req, "bad_request", "shout:say needs a room and payload.text");
        return;
    }
    char *upper = malloc(len + 1);
    if (!upper) {
        svc_error(req, "internal", "out of memory");
        return;
    }
    for (size_t i = 0; i < len; i++)
        upper[i] = (char)toupper((unsigned char)text[i]);
    mpw_t said = MPW_INIT, ack = MPW_INIT;
    mpw_map(&said, 1);
    mpw_cstr(&said, "text");
    mpw_str(&said, upper, len);
    mpw_map(&ack, 1);
    mpw_kint(&ack, "length", (int64_t)len);
    svc_action_publish(req, req->room, "shout:said", mpw_view(&said), NULL, req->from);
    svc_reply(req, mpw_view(&ack));
    mpw_free(&said);
    mpw_free(&ack);
    free(upper);
}

int main(int argc, char **argv)
{
    opts_t o = {0};
    rt_log_set_name("shout");
    cfg_result_t res = cfg_parse(table, &o, argc, argv, "shout", "example service: shout:say");
    if (res != CFG_OK) {
        cfg_free(table, &o);
        return res == CFG_HELP ? 0 : 2;
    }
    rt_log_set_level((rt_log_level_t)o.log_level);
    svc_t *svc = svc_new(o.router_api, "shout");
    cfg_free(table, &o);
    if (!svc || svc_on(svc, "shout:say", on_say, NULL) != 0) {
        svc_destroy(&svc);
        return 1;
    }
    svc_run(svc);
    svc_destroy(&svc);
    return 0;
}
