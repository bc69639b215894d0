/* rt-router: parse the configuration, build the router, run it until SIGINT/SIGTERM. */
#include "config.h"
#include "log.h"
#include "options.h"
#include "router.h"
#include <stddef.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    router_opts_t opts = {0};
    rt_log_set_name("rt-router");
    cfg_result_t res = cfg_parse(options_router(), &opts, argc, argv, "rt-router",
                                 "rooms, presence and dispatch for rt-gateway");
    if (res != CFG_OK) {
        cfg_free(options_router(), &opts);
        return res == CFG_HELP ? 0 : 2;
    }
    rt_log_set_level((rt_log_level_t)opts.log_level);
    router_t *r = router_new(&opts);
    cfg_free(options_router(), &opts);
    if (!r)
        return 1;
    int rc = router_run(r);
    router_destroy(&r);
    return rc;
}
