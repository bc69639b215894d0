/* JSON bridge: placeholder until the jansson implementation lands (next commit). */
#include "jsonb.h"

#include <stdio.h>

jsonb_err_t jsonb_to_mp(const char *text, size_t len, int max_depth, mpw_t *w, char *why,
                        size_t whylen)
{
    if (why && whylen)
        snprintf(why, whylen, "not implemented yet");
    return JSONB_SYNTAX;
}

int jsonb_from_mp(mp_t v, buf_t *out) { return -1; }

size_t jsonb_size(mp_t v) { return 0; }
