/* rt-router: parse the configuration, build the router, run it until SIGINT/SIGTERM. */
#include "router.h"

int main(int argc, char **argv)
{
    int rc;
    router_t *r = router_from_args(argc, argv, "rt-router",
                                   "rooms, presence and dispatch for rt-gateway", &rc);
    if (!r)
        return rc;
    rc = router_run(r);
    router_destroy(&r);
    return rc;
}
