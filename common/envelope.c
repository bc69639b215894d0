/* The msgpack codec: a strict validator (mp_check), zero-copy readers and a writer.
 *
 * Everything here is hand-written against the msgpack spec instead of using msgpack-c's
 * unpacker, because that unpacker allocates what a header claims before seeing the bytes
 * (a 5-byte map32 header made it reserve ~12 GiB). One header decoder (mp_head) is shared
 * by the validator and the readers; it checks every length against the bytes that remain,
 * so even a reader handed an unvalidated view cannot read out of bounds. */
#include "envelope.h"

#include <stdlib.h>
#include <string.h>

/* One decoded header. For containers `count` is the number of values that follow
 * (2 per map pair); for everything else `size` is the payload after the header. */
typedef struct {
    mp_type_t type;
    size_t hdr;
    uint64_t size;
    uint64_t count;
    bool neg; /* MP_INT: the value is negative and lives in i, otherwise in u */
    int64_t i;
    uint64_t u;
    double d;
    bool b;
} mp_head_t;

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}
static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint64_t be64(const uint8_t *p)
{
    return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static void set_uint(mp_head_t *h, uint64_t u)
{
    h->type = MP_INT;
    h->neg = false;
    h->u = u;
}

static void set_sint(mp_head_t *h, int64_t i)
{
    h->type = MP_INT;
    if (i < 0) {
        h->neg = true;
        h->i = i;
    } else {
        h->neg = false;
        h->u = (uint64_t)i;
    }
}

/* Decodes the header at p. Returns 0 when the whole header and, for non-containers, the
 * whole payload lie before end; -1 otherwise (truncated or the never-used byte 0xc1). */
static int mp_head(const uint8_t *p, const uint8_t *end, mp_head_t *h)
{
    if (!p || p >= end)
        return -1;
    size_t avail = (size_t)(end - p);
    uint8_t b = p[0];
    /* Only the fields every caller reads are reset (this runs once per value). */
    h->hdr = 1;
    h->size = 0;
    h->count = 0;

    if (b <= 0x7f) {
        set_uint(h, b);
        return 0;
    }
    if (b >= 0xe0) {
        set_sint(h, (int8_t)b);
        return 0;
    }
    if (b <= 0x8f) {
        h->type = MP_MAP;
        h->count = 2u * (b & 0x0f);
        return 0;
    }
    if (b <= 0x9f) {
        h->type = MP_ARRAY;
        h->count = b & 0x0f;
        return 0;
    }
    if (b <= 0xbf) {
        h->type = MP_STR;
        h->size = b & 0x1f;
        goto payload;
    }

    /* 0xc0 .. 0xdf: fixed header sizes */
    static const uint8_t hdr_len[32] = {/* c0 nil */ 1,
                                        /* c1 */ 0,
                                        /* c2 c3 */ 1,        1,
                                        /* c4-c6 bin */ 2,    3, 5,
                                        /* c7-c9 ext */ 3,    4, 6,
                                        /* ca cb float */ 5,  9,
                                        /* cc-cf uint */ 2,   3, 5, 9,
                                        /* d0-d3 int */ 2,    3, 5, 9,
                                        /* d4-d8 fixext */ 2, 2, 2, 2, 2,
                                        /* d9-db str */ 2,    3, 5,
                                        /* dc dd array */ 3,  5,
                                        /* de df map */ 3,    5};
    h->hdr = hdr_len[b - 0xc0];
    if (h->hdr == 0 || avail < h->hdr)
        return -1;
    const uint8_t *q = p + 1;
    switch (b) {
    case 0xc0:
        h->type = MP_NIL;
        return 0;
    case 0xc2:
        h->type = MP_BOOL;
        h->b = false;
        return 0;
    case 0xc3:
        h->type = MP_BOOL;
        h->b = true;
        return 0;
    case 0xc4:
        h->type = MP_BIN;
        h->size = q[0];
        break;
    case 0xc5:
        h->type = MP_BIN;
        h->size = be16(q);
        break;
    case 0xc6:
        h->type = MP_BIN;
        h->size = be32(q);
        break;
    /* ext8/16/32: the type byte is counted in the header, size is the data */
    case 0xc7:
        h->type = MP_EXT;
        h->size = q[0];
        break;
    case 0xc8:
        h->type = MP_EXT;
        h->size = be16(q);
        break;
    case 0xc9:
        h->type = MP_EXT;
        h->size = be32(q);
        break;
    case 0xca: {
        uint32_t bits = be32(q);
        float f;
        memcpy(&f, &bits, sizeof f);
        h->type = MP_FLOAT;
        h->d = f;
        return 0;
    }
    case 0xcb: {
        uint64_t bits = be64(q);
        memcpy(&h->d, &bits, sizeof h->d);
        h->type = MP_FLOAT;
        return 0;
    }
    case 0xcc:
        set_uint(h, q[0]);
        return 0;
    case 0xcd:
        set_uint(h, be16(q));
        return 0;
    case 0xce:
        set_uint(h, be32(q));
        return 0;
    case 0xcf:
        set_uint(h, be64(q));
        return 0;
    case 0xd0:
        set_sint(h, (int8_t)q[0]);
        return 0;
    case 0xd1:
        set_sint(h, (int16_t)be16(q));
        return 0;
    case 0xd2:
        set_sint(h, (int32_t)be32(q));
        return 0;
    case 0xd3:
        set_sint(h, (int64_t)be64(q));
        return 0;
    case 0xd4:
    case 0xd5:
    case 0xd6:
    case 0xd7:
    case 0xd8:
        h->type = MP_EXT;
        h->size = 1u + (1u << (b - 0xd4)); /* type byte + 1/2/4/8/16 data bytes */
        h->hdr = 1;
        break;
    case 0xd9:
        h->type = MP_STR;
        h->size = q[0];
        break;
    case 0xda:
        h->type = MP_STR;
        h->size = be16(q);
        break;
    case 0xdb:
        h->type = MP_STR;
        h->size = be32(q);
        break;
    case 0xdc:
        h->type = MP_ARRAY;
        h->count = be16(q);
        return 0;
    case 0xdd:
        h->type = MP_ARRAY;
        h->count = be32(q);
        return 0;
    case 0xde:
        h->type = MP_MAP;
        h->count = 2u * (uint64_t)be16(q);
        return 0;
    case 0xdf:
        h->type = MP_MAP;
        h->count = 2u * (uint64_t)be32(q);
        return 0;
    default:
        return -1;
    }
payload:
    if (h->hdr > avail || h->size > avail - h->hdr)
        return -1;
    return 0;
}

int mp_check(const void *buf, size_t len, int max_depth, mp_t *out)
{
    if (!buf || len == 0)
        return -1;
    if (max_depth < 0)
        max_depth = 0;
    if (max_depth > MP_CHECK_DEPTH_CAP)
        max_depth = MP_CHECK_DEPTH_CAP;

    const uint8_t *p = buf, *end = p + len;
    /* left[d]: values still to read at nesting level d. outstanding: their sum over all
     * levels. Every value takes at least one byte, so outstanding <= bytes remaining is
     * an invariant; a container claiming more elements than that is rejected before we
     * descend into it. */
    uint64_t left[MP_CHECK_DEPTH_CAP + 1];
    int depth = 0;
    left[0] = 1;
    uint64_t outstanding = 1;

    for (;;) {
        while (left[depth] == 0) {
            if (depth == 0)
                goto done;
            depth--;
        }
        left[depth]--;
        outstanding--;
        mp_head_t h;
        if (mp_head(p, end, &h) < 0)
            return -1;
        p += h.hdr;
        if (h.type == MP_ARRAY || h.type == MP_MAP) {
            if (depth + 1 > max_depth)
                return -1;
            if (h.count > (uint64_t)(end - p) - outstanding)
                return -1;
            left[++depth] = h.count;
            outstanding += h.count;
        } else {
            p += h.size;
        }
    }
done:
    if (p != end)
        return -1;
    if (out) {
        out->p = buf;
        out->n = len;
    }
    return 0;
}

/* The end of the value at p, or NULL when it does not fit before end. Iterative, so the
 * cost is bounded by the bytes and not by the nesting. */
static const uint8_t *mp_skip(const uint8_t *p, const uint8_t *end)
{
    uint64_t pending = 1;
    while (pending) {
        mp_head_t h;
        if (mp_head(p, end, &h) < 0)
            return NULL;
        pending--;
        p += h.hdr;
        if (h.type == MP_ARRAY || h.type == MP_MAP) {
            if (h.count > (uint64_t)(end - p))
                return NULL;
            pending += h.count;
        } else {
            p += h.size;
        }
    }
    return p;
}

size_t mp_size(mp_t v)
{
    if (!v.p || v.n == 0)
        return 0;
    const uint8_t *q = mp_skip(v.p, v.p + v.n);
    return q ? (size_t)(q - v.p) : 0;
}

static int head_of(mp_t v, mp_head_t *h)
{
    if (!v.p || v.n == 0)
        return -1;
    return mp_head(v.p, v.p + v.n, h);
}

mp_type_t mp_type(mp_t v)
{
    mp_head_t h;
    return head_of(v, &h) < 0 ? MP_ABSENT : h.type;
}

bool mp_is_nil(mp_t v)
{
    return mp_type(v) == MP_NIL;
}

int mp_str(mp_t v, const char **s, size_t *len)
{
    mp_head_t h;
    if (head_of(v, &h) < 0 || h.type != MP_STR)
        return -1;
    *s = (const char *)v.p + h.hdr;
    *len = (size_t)h.size;
    return 0;
}

int mp_bin(mp_t v, const uint8_t **p, size_t *len)
{
    mp_head_t h;
    if (head_of(v, &h) < 0 || h.type != MP_BIN)
        return -1;
    *p = v.p + h.hdr;
    *len = (size_t)h.size;
    return 0;
}

int mp_int(mp_t v, int64_t *out)
{
    mp_head_t h;
    if (head_of(v, &h) < 0 || h.type != MP_INT)
        return -1;
    if (h.neg) {
        *out = h.i;
        return 0;
    }
    if (h.u > (uint64_t)INT64_MAX)
        return -1;
    *out = (int64_t)h.u;
    return 0;
}

int mp_uint(mp_t v, uint64_t *out)
{
    mp_head_t h;
    if (head_of(v, &h) < 0 || h.type != MP_INT || h.neg)
        return -1;
    *out = h.u;
    return 0;
}

int mp_double(mp_t v, double *out)
{
    mp_head_t h;
    if (head_of(v, &h) < 0 || h.type != MP_FLOAT)
        return -1;
    *out = h.d;
    return 0;
}

int mp_bool(mp_t v, bool *out)
{
    mp_head_t h;
    if (head_of(v, &h) < 0 || h.type != MP_BOOL)
        return -1;
    *out = h.b;
    return 0;
}

/* Strings with an embedded NUL are refused: as C strings they would silently mean
 * something shorter. */
int mp_strcpy(mp_t v, char *out, size_t outlen)
{
    const char *s;
    size_t len;
    if (mp_str(v, &s, &len) < 0 || outlen == 0 || len > outlen - 1 || memchr(s, 0, len))
        return -1;
    memcpy(out, s, len);
    out[len] = '\0';
    return 0;
}

bool mp_str_eq(mp_t v, const char *s)
{
    const char *p;
    size_t len;
    if (!s || mp_str(v, &p, &len) < 0)
        return false;
    return strlen(s) == len && memcmp(p, s, len) == 0;
}

uint32_t mp_count(mp_t v)
{
    mp_head_t h;
    if (head_of(v, &h) < 0)
        return 0;
    if (h.type == MP_ARRAY)
        return (uint32_t)h.count;
    if (h.type == MP_MAP)
        return (uint32_t)(h.count / 2);
    return 0;
}

int mp_iter(mp_t v, mp_iter_t *it)
{
    mp_head_t h;
    if (head_of(v, &h) < 0 || (h.type != MP_ARRAY && h.type != MP_MAP))
        return -1;
    it->p = v.p + h.hdr;
    it->is_map = h.type == MP_MAP;
    it->left = (uint32_t)(it->is_map ? h.count / 2 : h.count);
    it->end = v.p + v.n;
    return 0;
}

static bool iter_take(mp_iter_t *it, mp_t *out)
{
    const uint8_t *q = mp_skip(it->p, it->end);
    if (!q) {
        it->left = 0; /* malformed: stop rather than read garbage */
        return false;
    }
    out->p = it->p;
    out->n = (size_t)(q - it->p);
    it->p = q;
    return true;
}

bool mp_next(mp_iter_t *it, mp_t *elem)
{
    if (it->left == 0 || it->is_map)
        return false;
    if (!iter_take(it, elem))
        return false;
    it->left--;
    return true;
}

bool mp_next_pair(mp_iter_t *it, mp_t *key, mp_t *val)
{
    if (it->left == 0 || !it->is_map)
        return false;
    if (!iter_take(it, key) || !iter_take(it, val))
        return false;
    it->left--;
    return true;
}

mp_t mp_get(mp_t map, const char *key)
{
    mp_iter_t it;
    mp_t k, v;
    if (!key || mp_iter(map, &it) < 0 || !it.is_map)
        return MP_NONE;
    while (mp_next_pair(&it, &k, &v))
        if (mp_str_eq(k, key))
            return v;
    return MP_NONE;
}

/* ---- writing ---- */

static uint8_t *mpw_room(mpw_t *w, size_t n)
{
    if (w->oom)
        return NULL;
    if (n > w->cap - w->len) {
        if (n > SIZE_MAX / 2 - w->len) {
            w->oom = 1;
            return NULL;
        }
        size_t cap = w->cap ? w->cap : 256;
        while (cap < w->len + n)
            cap *= 2;
        uint8_t *b = realloc(w->buf, cap);
        if (!b) {
            w->oom = 1;
            return NULL;
        }
        w->buf = b;
        w->cap = cap;
    }
    uint8_t *p = w->buf + w->len;
    w->len += n;
    return p;
}

static void put_be(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = bytes - 1; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

/* A one-byte tag followed by a big-endian integer of `bytes` bytes. */
static void put_tagged(mpw_t *w, uint8_t tag, uint64_t v, int bytes)
{
    uint8_t *p = mpw_room(w, 1 + (size_t)bytes);
    if (!p)
        return;
    p[0] = tag;
    put_be(p + 1, v, bytes);
}

void mpw_reset(mpw_t *w)
{
    w->len = 0;
    w->oom = 0;
}

void mpw_free(mpw_t *w)
{
    free(w->buf);
    w->buf = NULL;
    w->len = w->cap = 0;
    w->oom = 0;
}

mp_t mpw_view(const mpw_t *w)
{
    if (w->oom || w->len == 0)
        return MP_NONE;
    return (mp_t){w->buf, w->len};
}

void mpw_map(mpw_t *w, uint32_t pairs)
{
    if (pairs < 16)
        put_tagged(w, (uint8_t)(0x80 | pairs), 0, 0);
    else if (pairs <= 0xffff)
        put_tagged(w, 0xde, pairs, 2);
    else
        put_tagged(w, 0xdf, pairs, 4);
}

void mpw_array(mpw_t *w, uint32_t n)
{
    if (n < 16)
        put_tagged(w, (uint8_t)(0x90 | n), 0, 0);
    else if (n <= 0xffff)
        put_tagged(w, 0xdc, n, 2);
    else
        put_tagged(w, 0xdd, n, 4);
}

size_t mpw_array_open(mpw_t *w)
{
    size_t at = w->len;
    put_tagged(w, 0xdd, 0, 4);
    return at;
}

void mpw_array_close(mpw_t *w, size_t at, uint32_t n)
{
    if (w->oom || at + 5 > w->len || w->buf[at] != 0xdd)
        return;
    for (int i = 0; i < 4; i++)
        w->buf[at + 1 + i] = (uint8_t)(n >> (8 * (3 - i)));
}

/* str and bin share the shape: a length header then the bytes. */
static void put_bytes(mpw_t *w, const void *s, size_t len)
{
    if (len == 0)
        return;
    uint8_t *p = mpw_room(w, len);
    if (p)
        memcpy(p, s, len);
}

void mpw_str(mpw_t *w, const char *s, size_t len)
{
    if (len > UINT32_MAX) {
        w->oom = 1; /* not encodable; treated like a failed allocation */
        return;
    }
    if (len < 32)
        put_tagged(w, (uint8_t)(0xa0 | len), 0, 0);
    else if (len <= 0xff)
        put_tagged(w, 0xd9, len, 1);
    else if (len <= 0xffff)
        put_tagged(w, 0xda, len, 2);
    else
        put_tagged(w, 0xdb, len, 4);
    put_bytes(w, s, len);
}

void mpw_bin(mpw_t *w, const void *p, size_t len)
{
    if (len > UINT32_MAX) {
        w->oom = 1;
        return;
    }
    if (len <= 0xff)
        put_tagged(w, 0xc4, len, 1);
    else if (len <= 0xffff)
        put_tagged(w, 0xc5, len, 2);
    else
        put_tagged(w, 0xc6, len, 4);
    put_bytes(w, p, len);
}

void mpw_cstr(mpw_t *w, const char *s)
{
    if (s)
        mpw_str(w, s, strlen(s));
    else
        mpw_nil(w);
}

void mpw_uint(mpw_t *w, uint64_t v)
{
    if (v <= 0x7f)
        put_tagged(w, (uint8_t)v, 0, 0);
    else if (v <= 0xff)
        put_tagged(w, 0xcc, v, 1);
    else if (v <= 0xffff)
        put_tagged(w, 0xcd, v, 2);
    else if (v <= 0xffffffffu)
        put_tagged(w, 0xce, v, 4);
    else
        put_tagged(w, 0xcf, v, 8);
}

void mpw_int(mpw_t *w, int64_t v)
{
    if (v >= 0)
        mpw_uint(w, (uint64_t)v);
    else if (v >= -32)
        put_tagged(w, (uint8_t)(int8_t)v, 0, 0);
    else if (v >= INT8_MIN)
        put_tagged(w, 0xd0, (uint64_t)v, 1);
    else if (v >= INT16_MIN)
        put_tagged(w, 0xd1, (uint64_t)v, 2);
    else if (v >= INT32_MIN)
        put_tagged(w, 0xd2, (uint64_t)v, 4);
    else
        put_tagged(w, 0xd3, (uint64_t)v, 8);
}

void mpw_double(mpw_t *w, double v)
{
    uint64_t bits;
    memcpy(&bits, &v, sizeof bits);
    put_tagged(w, 0xcb, bits, 8);
}

void mpw_bool(mpw_t *w, bool v)
{
    put_tagged(w, v ? 0xc3 : 0xc2, 0, 0);
}

void mpw_nil(mpw_t *w)
{
    put_tagged(w, 0xc0, 0, 0);
}

void mpw_raw(mpw_t *w, mp_t v)
{
    if (!v.p || v.n == 0)
        mpw_nil(w);
    else
        put_bytes(w, v.p, v.n);
}

int mp_get_strz(mp_t map, const char *key, char *out, size_t outlen,
                bool (*valid)(const char *s, size_t len))
{
    mp_t v = mp_get(map, key);
    if (!mp_present(v) || mp_is_nil(v))
        return 0;
    const char *s;
    size_t len;
    if (mp_str(v, &s, &len) != 0 || len >= outlen || memchr(s, '\0', len) ||
        (valid && !valid(s, len)))
        return -1;
    memcpy(out, s, len);
    out[len] = '\0';
    return 1;
}
