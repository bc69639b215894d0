/* Configuration: placeholder until the table-driven parser lands (next commit). */
#include "config.h"

#include <stdio.h>

cfg_result_t cfg_parse(const cfg_option_t *table, void *opts, int argc, char **argv,
                       const char *prog, const char *summary)
{
    fprintf(stderr, "%s: configuration parser not implemented yet\n", prog);
    return CFG_ERROR;
}

void cfg_free(const cfg_option_t *table, void *opts) {}

int cfg_check_endpoint(const char *value, char *why, size_t whylen) { return 0; }
int cfg_check_endpoint_list(const char *value, char *why, size_t whylen) { return 0; }
int cfg_check_listen(const char *value, char *why, size_t whylen) { return 0; }
