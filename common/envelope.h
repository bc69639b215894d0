/* The msgpack codec of the internal envelopes and the service API.
 *
 * Reading is zero-copy: a frame is first validated as a whole by mp_check (size, depth,
 * element counts against the bytes that remain, UTF-8 not required), after which mp_t
 * views into it can be read without further bounds worries. Nothing is unpacked into a
 * tree and nothing is allocated, so a hostile header (a map32 claiming 4 billion entries)
 * costs nothing. Writing goes through mpw_t, a growable buffer.
 *
 * This is the only module that knows the msgpack wire format. */
#ifndef RT_ENVELOPE_H
#define RT_ENVELOPE_H

#include "wire_limits.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A view of one encoded msgpack value: p points at its first byte, n is its encoded size.
 * {NULL, 0} means "absent". Borrowed from the buffer it points into. */
typedef struct {
    const uint8_t *p;
    size_t n;
} mp_t;

#define MP_NONE ((mp_t){NULL, 0})

typedef enum {
    MP_ABSENT = 0,
    MP_NIL,
    MP_BOOL,
    MP_INT,
    MP_FLOAT,
    MP_STR,
    MP_BIN,
    MP_ARRAY,
    MP_MAP,
    MP_EXT
} mp_type_t;

/* The limits of the internal sockets (wire_limits.h). */
#define MP_MAX_FRAME RT_FRAME_MAX
#define MP_MAX_DEPTH RT_FRAME_DEPTH
/* The deepest nesting mp_check can track (its stack lives on the C stack). */
#define MP_CHECK_DEPTH_CAP 1024

/* Validates that buf[0..len) holds exactly one well-formed msgpack value, no deeper than
 * max_depth containers, with every length and element count fitting in the bytes that
 * remain. Returns 0 and sets *out (out may be NULL), or -1. Never reads past buf + len.
 * max_depth: a scalar alone is depth 0, a top-level map or array is depth 1; values above
 * MP_CHECK_DEPTH_CAP are clamped to it. Cost: one pass, no allocation. */
int mp_check(const void *buf, size_t len, int max_depth, mp_t *out);

mp_type_t mp_type(mp_t v);
static inline bool mp_present(mp_t v)
{
    return v.p != NULL;
}
bool mp_is_nil(mp_t v);

/* Scalar readers: return 0 on success, -1 when v has another type (or is absent). */
int mp_str(mp_t v, const char **s, size_t *len); /* str (not NUL-terminated) */
int mp_int(mp_t v, int64_t *out);                /* int, or uint <= INT64_MAX */
int mp_uint(mp_t v, uint64_t *out);              /* non-negative int */
int mp_double(mp_t v, double *out);              /* float32/float64 (not ints) */
int mp_bool(mp_t v, bool *out);
int mp_bin(mp_t v, const uint8_t **p, size_t *len); /* bin (added) */
/* Copies a str into out (NUL-terminated) when it fits in outlen-1 bytes; 0 or -1. */
int mp_strcpy(mp_t v, char *out, size_t outlen);
bool mp_str_eq(mp_t v, const char *s);
/* Reads the str under `key` of a map into out (NUL-terminated): 1 when present and valid,
 * 0 when absent or nil, -1 when present but not a str, too long for out, holding a NUL, or
 * refused by `valid` (NULL accepts any). */
int mp_get_strz(mp_t map, const char *key, char *out, size_t outlen,
                bool (*valid)(const char *s, size_t len));

/* Encoded size of the value that starts at v.p, where v.n is only an upper bound (e.g. the
 * rest of a buffer); 0 when it does not fit. O(1) for scalars, walks containers. (added) */
size_t mp_size(mp_t v);

/* Element count of an array or a map (pairs); 0 for anything else. */
uint32_t mp_count(mp_t v);
/* The value under a str key in a map; MP_NONE when v is not a map or the key is absent.
 * With duplicate keys the first wins. */
mp_t mp_get(mp_t map, const char *key);

typedef struct {
    const uint8_t *p;
    uint32_t left;
    bool is_map;
    const uint8_t *end; /* end of the container's bytes (reads never pass it) */
} mp_iter_t;

/* Start iterating an array or a map; returns -1 for other types. */
int mp_iter(mp_t v, mp_iter_t *it);
/* Next array element; false at the end. */
bool mp_next(mp_iter_t *it, mp_t *elem);
/* Next map pair; false at the end. */
bool mp_next_pair(mp_iter_t *it, mp_t *key, mp_t *val);

/* ---- writing ---- */
typedef struct {
    uint8_t *buf;
    size_t len, cap;
    int oom; /* set once an allocation failed; the result is then unusable */
} mpw_t;

#define MPW_INIT                                                                                   \
    {                                                                                              \
        NULL, 0, 0, 0                                                                              \
    }

void mpw_reset(mpw_t *w); /* len = 0, keeps the memory */
void mpw_free(mpw_t *w);
/* The encoded bytes as a view (valid until the next write); MP_NONE after an allocation
 * failure (oom), so a failed message can never be sent half-written. */
mp_t mpw_view(const mpw_t *w);

void mpw_map(mpw_t *w, uint32_t pairs);
void mpw_array(mpw_t *w, uint32_t n);
/* An array whose length is known only after its elements: open writes a 32-bit header and
 * returns its offset, close patches the count in once the n elements are written. */
size_t mpw_array_open(mpw_t *w);
void mpw_array_close(mpw_t *w, size_t at, uint32_t n);
void mpw_str(mpw_t *w, const char *s, size_t len);
void mpw_cstr(mpw_t *w, const char *s); /* NULL writes nil */
void mpw_int(mpw_t *w, int64_t v);
void mpw_uint(mpw_t *w, uint64_t v);
void mpw_double(mpw_t *w, double v);
void mpw_bool(mpw_t *w, bool v);
void mpw_nil(mpw_t *w);
void mpw_bin(mpw_t *w, const void *p, size_t len); /* (added) */
void mpw_raw(mpw_t *w, mp_t v);                    /* append an encoded value (nil when absent) */

/* Convenience for map entries with a str key. */
static inline void mpw_kstr(mpw_t *w, const char *k, const char *s)
{
    mpw_cstr(w, k);
    mpw_cstr(w, s);
}
static inline void mpw_kint(mpw_t *w, const char *k, int64_t v)
{
    mpw_cstr(w, k);
    mpw_int(w, v);
}
static inline void mpw_kraw(mpw_t *w, const char *k, mp_t v)
{
    mpw_cstr(w, k);
    mpw_raw(w, v);
}

#endif
