/* Client frames: validation of a client's JSON text (CONTRACT §2) and its conversion to
 * the router's `msg` envelope (docs/internals.md), plus the gateway's own client-visible
 * frames (welcome, error) as JSON. */
#ifndef RT_GW_REQUEST_H
#define RT_GW_REQUEST_H

#include "buf.h"
#include "envelope.h"
#include "errors.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t id;   /* the request id when it could be read, else 0 */
    char why[96]; /* reason of a bad_request */
} request_info_t;

/* Parses and validates text[0..len) (payload nesting at most max_depth levels) and writes
 * the envelope {t:"msg",gw,c,type,room?,to?,id?,echo?,payload} to out (reset first).
 * scratch is a reusable work buffer. Returns RT_OK, or RT_E_BAD_REQUEST with info->why;
 * info->id is filled whenever readable. */
rt_err_t request_to_msg(const char *text, size_t len, int max_depth, const char *gw,
                        const char *conn, mpw_t *scratch, mpw_t *out, request_info_t *info);

/* The id of a client frame when it can be read (used to answer a frame that is dropped
 * before validation, e.g. rate_limited); 0 otherwise. */
int64_t request_peek_id(const char *text, size_t len, int max_depth, mpw_t *scratch);

/* JSON of {"type":"error","id":N?,"payload":{"code":C,"message":M}} appended to out (reset
 * first); id 0 = none. Returns 0 or -1. */
int request_error_json(buf_t *out, int64_t id, rt_err_t code, const char *message, mpw_t *scratch);

/* JSON of {"type":"welcome","payload":{"id":CONN,"node":NODE,"heartbeat":SECONDS}}. */
int request_welcome_json(buf_t *out, const char *conn, const char *node, long heartbeat,
                         mpw_t *scratch);

#endif
