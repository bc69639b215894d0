/* The JSON bridge: client JSON text -> msgpack (jansson parses, we walk its tree into mpw)
 * and msgpack -> compact JSON (written directly from the msgpack bytes, no tree).
 *
 * Why jansson. Measured with bench/json_parse.sh (gcc -O2, pinned to one core of the 2-core
 * Debian 12 test machine, best of 5 rounds; parse + walk every node + free, ns per frame;
 * two runs, the machine was shared, so read them as +-30 %):
 *
 *   library                      207 B client frame   3.9 KiB payload frame
 *   jansson 2.14                        4200-4300          95000-97000
 *   json-c 0.16 (strict, utf8)          2800               68000-71000
 *   yajl 2.1 (tree)                     2000-2100          79000-97000
 *   cJSON 1.7.15                        1100-1600          30000-45000
 *   this module, jsonb_to_mp            4400-4600          98000-101000  (jansson + mpw walk)
 *   this module, jsonb_from_mp           750-1150          31000-40000  (mp -> JSON text)
 *
 * Inputs the contract requires us to reject, and which library rejects them:
 *   invalid UTF-8:        jansson, json-c, yajl reject; cJSON accepts.
 *   overlong UTF-8:       only jansson rejects.
 *   lone surrogate \ud83d: jansson, cJSON reject; json-c, yajl accept.
 *   NaN:                  jansson, cJSON, yajl reject; json-c (even strict) accepts.
 *   2^64 / 1e400:         jansson, json-c strict reject; cJSON and yajl accept (cJSON turns
 *                         2^64 into a double, losing exactness; json-c in its default mode
 *                         silently saturates 2^64 to 18446744073709551615 and
 *                         INT64_MIN-1 to INT64_MIN).
 *   raw control char in a string: jansson, yajl reject; json-c (strict) and cJSON accept.
 *   single quotes:        json-c (strict) accepts; the others reject.
 *   trailing garbage, trailing comma: all reject (json-c needs a manual end check).
 * jansson is the only one that rejects every case, keeps int64 exact (json_int_t is
 * long long) and keeps object key order. It is 2-4x slower than cJSON; at ~4.3 us per client
 * frame one core still parses over 200k frames/s, while the fan-out path (one JSON encoding
 * per event, shared by every recipient) does not parse at all. The parse side can be
 * revisited if a profile of the gateway shows it matters; the msgpack -> JSON side is our
 * own code already.
 */
#include "jsonb.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- JSON text -> msgpack ---- */

static void set_why(char *why, size_t whylen, const char *text, int line, int col)
{
    if (!why || !whylen)
        return;
    if (line > 0)
        snprintf(why, whylen, "%s (line %d, column %d)", text, line, col);
    else
        snprintf(why, whylen, "%s", text);
}

/* Recursion is bounded: depth never exceeds max_depth here, and jansson itself refuses
 * nesting deeper than its JSON_PARSER_MAX_DEPTH (2048) before we see the tree. */
static jsonb_err_t walk(const json_t *j, int depth, int max_depth, mpw_t *w)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        if (depth + 1 > max_depth)
            return JSONB_DEPTH;
        mpw_map(w, (uint32_t)json_object_size(j));
        /* jansson keeps insertion order (since 2.8); keys may contain NUL (ALLOW_NUL). */
        for (void *it = json_object_iter((json_t *)j); it;
             it = json_object_iter_next((json_t *)j, it)) {
            mpw_str(w, json_object_iter_key(it), json_object_iter_key_len(it));
            jsonb_err_t e = walk(json_object_iter_value(it), depth + 1, max_depth, w);
            if (e)
                return e;
        }
        return JSONB_OK;
    }
    case JSON_ARRAY: {
        if (depth + 1 > max_depth)
            return JSONB_DEPTH;
        size_t n = json_array_size(j);
        mpw_array(w, (uint32_t)n);
        for (size_t i = 0; i < n; i++) {
            jsonb_err_t e = walk(json_array_get(j, i), depth + 1, max_depth, w);
            if (e)
                return e;
        }
        return JSONB_OK;
    }
    case JSON_STRING:
        mpw_str(w, json_string_value(j), json_string_length(j));
        return JSONB_OK;
    case JSON_INTEGER:
        mpw_int(w, (int64_t)json_integer_value(j));
        return JSONB_OK;
    case JSON_REAL:
        mpw_double(w, json_real_value(j));
        return JSONB_OK;
    case JSON_TRUE:
        mpw_bool(w, true);
        return JSONB_OK;
    case JSON_FALSE:
        mpw_bool(w, false);
        return JSONB_OK;
    case JSON_NULL:
        mpw_nil(w);
        return JSONB_OK;
    }
    return JSONB_SYNTAX;
}

jsonb_err_t jsonb_to_mp(const char *text, size_t len, int max_depth, mpw_t *w, char *why,
                        size_t whylen)
{
    json_error_t err;
    if (why && whylen)
        why[0] = '\0';
    if (!text) {
        set_why(why, whylen, "no input", 0, 0);
        return JSONB_SYNTAX;
    }
    /* Not JSON_REJECT_DUPLICATES (last key wins), not JSON_DISABLE_EOF_CHECK (trailing
     * garbage is an error); JSON_DECODE_ANY so that any value, not only objects, parses. */
    json_t *root = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    if (!root) {
        jsonb_err_t e = JSONB_SYNTAX;
        switch (json_error_code(&err)) {
        case json_error_stack_overflow:
            e = JSONB_DEPTH;
            break;
        case json_error_numeric_overflow:
            e = JSONB_RANGE;
            break;
        case json_error_out_of_memory:
            e = JSONB_NOMEM;
            break;
        default:
            break;
        }
        set_why(why, whylen, err.text, err.line, err.column);
        return e;
    }
    jsonb_err_t e = walk(root, 0, max_depth, w);
    json_decref(root);
    if (e == JSONB_DEPTH && why && whylen)
        snprintf(why, whylen, "nested deeper than %d levels", max_depth);
    else if (e == JSONB_OK && w->oom)
        e = JSONB_NOMEM;
    if (e == JSONB_NOMEM)
        set_why(why, whylen, "out of memory", 0, 0);
    return e;
}

/* ---- msgpack -> JSON text ---- */

/* Output goes to a sink that either appends to a buffer or only counts, so that
 * jsonb_size shares every line of the encoder and never allocates. */
typedef struct {
    buf_t *out; /* NULL: count only */
    size_t n;
} sink_t;

static inline void put(sink_t *s, const void *p, size_t n)
{
    s->n += n;
    if (!s->out || n == 0)
        return;
    buf_t *b = s->out;
    if (n <= b->cap - b->len && !b->oom) { /* fast path: no call, no growth */
        memcpy(b->data + b->len, p, n);
        b->len += n;
    } else {
        buf_append(b, p, n);
    }
}

static void puts_(sink_t *s, const char *str)
{
    put(s, str, strlen(str));
}

/* Length of the valid UTF-8 sequence at p (1-4), or 0 when the bytes there are not one
 * (overlong forms, surrogates, > U+10FFFF and truncated sequences included). */
static size_t utf8_len(const uint8_t *p, size_t left)
{
    uint8_t c = p[0];
    if (c < 0x80)
        return 1;
    if (c < 0xc2 || c > 0xf4)
        return 0;
    size_t n = c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
    if (left < n)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if (c == 0xe0 && p[1] < 0xa0)
        return 0; /* overlong */
    if (c == 0xed && p[1] >= 0xa0)
        return 0; /* UTF-16 surrogate */
    if (c == 0xf0 && p[1] < 0x90)
        return 0; /* overlong */
    if (c == 0xf4 && p[1] >= 0x90)
        return 0; /* > U+10FFFF */
    return n;
}

/* A JSON string: escapes what JSON requires, keeps valid UTF-8 as is and replaces each
 * byte that is not part of valid UTF-8 with U+FFFD, so the output is always valid. */
static void put_string(sink_t *s, const uint8_t *p, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    put(s, "\"", 1);
    size_t run = 0; /* bytes at p that can be copied verbatim */
    size_t i = 0;
    while (i < len) {
        uint8_t c = p[i];
        const char *esc = NULL;
        char u[6];
        size_t n = 1;
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            run++;
            i++;
            continue;
        }
        if (c >= 0x80) {
            n = utf8_len(p + i, len - i);
            if (n) {
                run += n;
                i += n;
                continue;
            }
            n = 1;
            esc = "\xef\xbf\xbd";
        } else if (c == '"') {
            esc = "\\\"";
        } else if (c == '\\') {
            esc = "\\\\";
        } else if (c == '\n') {
            esc = "\\n";
        } else if (c == '\r') {
            esc = "\\r";
        } else if (c == '\t') {
            esc = "\\t";
        } else if (c == '\b') {
            esc = "\\b";
        } else if (c == '\f') {
            esc = "\\f";
        }
        put(s, p + i - run, run);
        run = 0;
        if (esc) {
            puts_(s, esc);
        } else {
            memcpy(u, "\\u00", 4);
            u[4] = hex[c >> 4];
            u[5] = hex[c & 15];
            put(s, u, 6);
        }
        i += n;
    }
    put(s, p + i - run, run);
    put(s, "\"", 1);
}

/* The shortest of %.15g / %.16g / %.17g that reads back to the same double (%.17g always
 * does). An integral result gets ".0" so it stays a float for the reader. Costs up to three
 * snprintf + strtod pairs per double (most values stop at the first). Any double whose
 * shortest form has <= 15 digits comes out in that form; subnormals (below 2.2e-308, fewer
 * bits of precision) can get more digits than strictly needed, still exact. */
static void put_double(sink_t *s, double d)
{
    if (!isfinite(d)) {
        puts_(s, "null");
        return;
    }
    char tmp[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, d);
        double back = strtod(tmp, NULL);
        if (prec == 17 || memcmp(&back, &d, sizeof d) == 0) /* same bits: -0.0 stays -0.0 */
            break;
    }
    /* Compact exponent as JavaScript and most senders write it: "1e-07" -> "1e-7",
     * "1e+300" -> "1e300", so common inputs come back as the same text. */
    char *e = strchr(tmp, 'e');
    if (e) {
        char *src = e + 1, *dst = e + 1;
        if (*src == '+')
            src++;
        else if (*src == '-')
            *dst++ = *src++;
        while (src[0] == '0' && src[1])
            src++;
        memmove(dst, src, strlen(src) + 1);
    }
    puts_(s, tmp);
    if (!strpbrk(tmp, ".e"))
        puts_(s, ".0");
}

static void put_base64(sink_t *s, const uint8_t *p, size_t len)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char q[4];
    put(s, "\"", 1);
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        q[0] = b64[v >> 18];
        q[1] = b64[(v >> 12) & 63];
        q[2] = i + 1 < len ? b64[(v >> 6) & 63] : '=';
        q[3] = i + 2 < len ? b64[v & 63] : '=';
        put(s, q, 4);
    }
    put(s, "\"", 1);
}

static const uint8_t *put_value(sink_t *s, mp_t v);

/* A map key: a str as itself, anything else as its JSON text inside a string. Returns the
 * end of the key like put_value. */
static const uint8_t *put_key(sink_t *s, mp_t k)
{
    const char *str;
    size_t len;
    if (mp_str(k, &str, &len) == 0) {
        put_string(s, (const uint8_t *)str, len);
        return (const uint8_t *)str + len;
    }
    buf_t tmp = BUF_INIT;
    sink_t ts = {&tmp, 0};
    const uint8_t *end = put_value(&ts, k);
    if (tmp.oom && s->out)
        s->out->oom = 1;
    put_string(s, (const uint8_t *)tmp.data, tmp.len);
    buf_free(&tmp);
    return end;
}

/* Writes the value starting at v.p (v.n bounds the rest of the buffer) and returns the
 * first byte after it, or NULL if malformed. One pass: containers are walked element by
 * element through this recursion instead of mp_next, which would skip (re-walk) every
 * nested subtree once per level. Recursion depth is bounded by the mp_check done by the
 * callers. */
static const uint8_t *put_value(sink_t *s, mp_t v)
{
    char num[32];
    const char *str;
    const uint8_t *bin, *p;
    size_t len;
    int64_t i;
    uint64_t u;
    double d;
    bool b;
    mp_iter_t it;

    switch (mp_type(v)) {
    case MP_ABSENT:
        return NULL;
    case MP_NIL:
    case MP_EXT:
        puts_(s, "null");
        break;
    case MP_BOOL:
        mp_bool(v, &b);
        puts_(s, b ? "true" : "false");
        break;
    case MP_INT:
        if (mp_int(v, &i) == 0)
            snprintf(num, sizeof num, "%lld", (long long)i);
        else if (mp_uint(v, &u) == 0)
            snprintf(num, sizeof num, "%llu", (unsigned long long)u);
        else
            snprintf(num, sizeof num, "null");
        puts_(s, num);
        break;
    case MP_FLOAT:
        mp_double(v, &d);
        put_double(s, d);
        break;
    case MP_STR:
        mp_str(v, &str, &len);
        put_string(s, (const uint8_t *)str, len);
        return (const uint8_t *)str + len;
    case MP_BIN:
        mp_bin(v, &bin, &len);
        put_base64(s, bin, len);
        return bin + len;
    case MP_ARRAY:
    case MP_MAP:
        mp_iter(v, &it);
        p = it.p;
        put(s, it.is_map ? "{" : "[", 1);
        for (uint32_t n = 0; n < it.left; n++) {
            if (n)
                put(s, ",", 1);
            if (it.is_map) {
                p = put_key(s, (mp_t){p, (size_t)(it.end - p)});
                if (!p)
                    return NULL;
                put(s, ":", 1);
            }
            p = put_value(s, (mp_t){p, (size_t)(it.end - p)});
            if (!p)
                return NULL;
        }
        put(s, it.is_map ? "}" : "]", 1);
        return p;
    }
    len = mp_size(v); /* a fixed-size scalar: O(1) */
    return len ? v.p + len : NULL;
}

/* Depth accepted on output: anything mp_check can track. The recursion costs well under
 * 200 bytes of stack per level, so MP_CHECK_DEPTH_CAP levels stay far below any stack limit. */
#define JSONB_OUT_DEPTH MP_CHECK_DEPTH_CAP

int jsonb_from_mp(mp_t v, buf_t *out)
{
    if (!out || mp_check(v.p, v.n, JSONB_OUT_DEPTH, NULL) < 0)
        return -1;
    sink_t s = {out, 0};
    buf_reserve(out, v.n + v.n / 2 + 16); /* JSON is usually 1-1.5x the msgpack size */
    if (!put_value(&s, v))
        return -1;
    return out->oom ? -1 : 0;
}

/* Runs the same encoder in counting mode: the CPU cost of an encoding, no allocation
 * (except for the rare non-string map keys). Returns 0 when v is absent or malformed. */
size_t jsonb_size(mp_t v)
{
    if (mp_check(v.p, v.n, JSONB_OUT_DEPTH, NULL) < 0)
        return 0;
    sink_t s = {NULL, 0};
    return put_value(&s, v) ? s.n : 0;
}
