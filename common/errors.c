/* The error codes of the client protocol and the service API, as text. */
#include "errors.h"

#include <string.h>

static const char *const codes[RT_E__COUNT] = {
    [RT_OK] = "ok",
    [RT_E_BAD_REQUEST] = "bad_request",
    [RT_E_UNKNOWN_TYPE] = "unknown_type",
    [RT_E_NOT_IN_ROOM] = "not_in_room",
    [RT_E_PEER_NOT_FOUND] = "peer_not_found",
    [RT_E_FORBIDDEN] = "forbidden",
    [RT_E_RATE_LIMITED] = "rate_limited",
    [RT_E_LIMIT] = "limit",
    [RT_E_UNAVAILABLE] = "unavailable",
    [RT_E_TIMEOUT] = "timeout",
    [RT_E_INTERNAL] = "internal",
};

const char *rt_err_code(rt_err_t e)
{
    if ((int)e < 0 || e >= RT_E__COUNT)
        return "internal";
    return codes[e];
}

rt_err_t rt_err_parse(const char *code, size_t len)
{
    if (!code)
        return RT_E_INTERNAL;
    for (int e = RT_E_BAD_REQUEST; e < RT_E__COUNT; e++)
        if (strlen(codes[e]) == len && memcmp(codes[e], code, len) == 0)
            return (rt_err_t)e;
    return RT_E_INTERNAL;
}
