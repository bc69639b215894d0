/* The configuration table of rt-router, shared by every program built
 * on the router library so that they accept the same flags. */
#ifndef RT_OPTIONS_H
#define RT_OPTIONS_H

#include "config.h"

/* The cfg_parse table for a router_opts_t (router.h); static, CFG_END-terminated. */
const cfg_option_t *options_router(void);

#endif
