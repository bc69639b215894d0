/* The error codes of the client protocol and the service API (docs/protocol.md). */
#ifndef RT_ERRORS_H
#define RT_ERRORS_H

#include <stddef.h>

typedef enum {
    RT_OK = 0,
    RT_E_BAD_REQUEST,
    RT_E_UNKNOWN_TYPE,
    RT_E_NOT_IN_ROOM,
    RT_E_PEER_NOT_FOUND,
    RT_E_FORBIDDEN,
    RT_E_RATE_LIMITED,
    RT_E_LIMIT,
    RT_E_UNAVAILABLE,
    RT_E_TIMEOUT,
    RT_E_INTERNAL,
    RT_E__COUNT
} rt_err_t;

/* "bad_request", "unknown_type", ... ; "internal" for out-of-range values. */
const char *rt_err_code(rt_err_t e);
/* The inverse; RT_E_INTERNAL for unknown text. */
rt_err_t rt_err_parse(const char *code, size_t len);

#endif
