/* Client frame validation and conversion: the JSON text is parsed once into msgpack by
 * the JSON bridge, its fields are checked in place, and the envelope is written around
 * the payload's bytes without re-encoding them. */
#include "request.h"

#include "ids.h"
#include "jsonb.h"
#include <stdio.h>
#include <string.h>

static rt_err_t bad(request_info_t *info, const char *why)
{
    snprintf(info->why, sizeof info->why, "%s", why);
    return RT_E_BAD_REQUEST;
}

/* Optional fields: absent and null both mean "not given". */
static bool given(mp_t v)
{
    return mp_present(v) && !mp_is_nil(v);
}

static int read_id(mp_t v, int64_t *id)
{
    int64_t n;
    if (mp_type(v) == MP_INT && mp_int(v, &n) == 0 && n >= 1 && n <= RT_ID_MAX) {
        *id = n;
        return 0;
    }
    /* 5.0 is an integer in JSON's eyes too */
    double d;
    if (mp_type(v) == MP_FLOAT && mp_double(v, &d) == 0 && d >= 1 && d <= (double)RT_ID_MAX &&
        d == (double)(int64_t)d) {
        *id = (int64_t)d;
        return 0;
    }
    return -1;
}

/* Deep enough for anything jansson accepts; used only to read the id of a frame that is
 * rejected for its nesting (the reply should still carry the id). */
#define ID_PEEK_DEPTH 2000

static int parse(const char *text, size_t len, int max_depth, mpw_t *scratch, mp_t *root,
                 request_info_t *info)
{
    char why[64] = "";
    mpw_reset(scratch);
    jsonb_err_t e = jsonb_to_mp(text, len, max_depth + 1, scratch, why, sizeof why);
    if (e == JSONB_DEPTH) {
        snprintf(info->why, sizeof info->why, "payload nested deeper than %d levels", max_depth);
        if (max_depth < ID_PEEK_DEPTH)
            info->id = request_peek_id(text, len, ID_PEEK_DEPTH, scratch);
        return -1;
    }
    if (e != JSONB_OK || scratch->oom) {
        snprintf(info->why, sizeof info->why, "invalid JSON%s%s", why[0] ? ": " : "", why);
        return -1;
    }
    if (mp_check(scratch->buf, scratch->len, max_depth + 1, root) != 0) {
        snprintf(info->why, sizeof info->why, "invalid JSON");
        return -1;
    }
    return 0;
}

int64_t request_peek_id(const char *text, size_t len, int max_depth, mpw_t *scratch)
{
    request_info_t info = {0};
    mp_t root;
    int64_t id = 0;
    if (parse(text, len, max_depth, scratch, &root, &info) == 0) {
        if (mp_type(root) == MP_MAP)
            (void)read_id(mp_get(root, "id"), &id);
        return id;
    }
    return info.id; /* the deeper retry of parse() for a frame nested too deep */
}

rt_err_t request_to_msg(const char *text, size_t len, int max_depth, const char *gw,
                        const char *conn, mpw_t *scratch, mpw_t *out, request_info_t *info)
{
    mp_t root;
    info->id = 0;
    info->why[0] = 0;
    /* parse() fills info->id itself when the frame is only too deep */
    if (parse(text, len, max_depth, scratch, &root, info) != 0)
        return RT_E_BAD_REQUEST;
    if (mp_type(root) != MP_MAP)
        return bad(info, "a frame must be a JSON object");

    mp_t id = mp_get(root, "id"), type = mp_get(root, "type"), room = mp_get(root, "room");
    mp_t to = mp_get(root, "to"), echo = mp_get(root, "echo"), payload = mp_get(root, "payload");
    if (given(id) && read_id(id, &info->id) != 0)
        return bad(info, "id must be an integer 1 ... 2^53-1");

    const char *s;
    size_t n;
    if (!mp_present(type))
        return bad(info, "type is required");
    if (mp_str(type, &s, &n) != 0 || !ids_valid_type(s, n))
        return bad(info, "type must be 1-64 chars of [A-Za-z0-9_.:-]");
    if (given(room) && (mp_str(room, &s, &n) != 0 || !ids_valid_room(s, n)))
        return bad(info, "room must be 1-128 chars of [A-Za-z0-9_.:@/-]");
    if (given(to) && (mp_str(to, &s, &n) != 0 || !ids_valid_conn(s, n)))
        return bad(info, "to must be a connection id");
    bool echo_v = false;
    if (given(echo) && mp_bool(echo, &echo_v) != 0)
        return bad(info, "echo must be a boolean");

    uint32_t pairs = 5 + given(room) + given(to) + (info->id != 0) + given(echo);
    mpw_reset(out);
    mpw_map(out, pairs);
    mpw_kstr(out, "t", "msg");
    mpw_kstr(out, "gw", gw);
    mpw_kstr(out, "c", conn);
    mpw_kraw(out, "type", type);
    if (given(room))
        mpw_kraw(out, "room", room);
    if (given(to))
        mpw_kraw(out, "to", to);
    if (info->id)
        mpw_kint(out, "id", info->id);
    if (given(echo)) {
        mpw_cstr(out, "echo");
        mpw_bool(out, echo_v);
    }
    mpw_kraw(out, "payload", payload); /* absent -> nil */
    if (out->oom)
        return bad(info, "out of memory");
    /* msgpack can outgrow its JSON (a 3-character double takes 9 bytes): what would not fit
     * the router's frames is refused here, so the request still gets its answer */
    if (out->len > RT_MESSAGE_ENVELOPE_MAX)
        return bad(info, "message too large once encoded for the router");
    return RT_OK;
}

static int to_json(mpw_t *w, buf_t *out)
{
    mp_t v;
    buf_reset(out);
    if (w->oom || mp_check(w->buf, w->len, MP_MAX_DEPTH, &v) != 0)
        return -1;
    if (jsonb_from_mp(v, out) != 0 || out->oom)
        return -1;
    return 0;
}

int request_error_json(buf_t *out, int64_t id, rt_err_t code, const char *message, mpw_t *scratch)
{
    mpw_reset(scratch);
    mpw_map(scratch, id ? 3 : 2);
    mpw_kstr(scratch, "type", "error");
    if (id)
        mpw_kint(scratch, "id", id);
    mpw_cstr(scratch, "payload");
    mpw_map(scratch, 2);
    mpw_kstr(scratch, "code", rt_err_code(code));
    mpw_kstr(scratch, "message", message ? message : "");
    return to_json(scratch, out);
}

int request_welcome_json(buf_t *out, const char *conn, const char *node, long heartbeat,
                         mpw_t *scratch)
{
    mpw_reset(scratch);
    mpw_map(scratch, 2);
    mpw_kstr(scratch, "type", "welcome");
    mpw_cstr(scratch, "payload");
    mpw_map(scratch, 3);
    mpw_kstr(scratch, "id", conn);
    mpw_kstr(scratch, "node", node);
    mpw_kint(scratch, "heartbeat", heartbeat);
    return to_json(scratch, out);
}
