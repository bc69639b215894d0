/* The JSON bridge: JSON text <-> msgpack, done once at the edge.
 *
 * Parsing uses jansson (strict: invalid UTF-8, lone surrogates, NaN/Infinity, trailing
 * garbage and numbers out of range are errors). Integers keep their exact value in the
 * whole int64 range; an integer outside it is an error rather than a silent rounding.
 * Reals are float64 and are written back in the shortest form that reads back to the same
 * double (0.1 stays 0.1). Strings are UTF-8 with \u escapes decoded (surrogate pairs joined);
 * NUL characters (\u0000) are kept in string values (jansson refuses them in object keys:
 * JSONB_SYNTAX). Duplicate object keys: the last one wins (jansson), at the position of the
 * first. Object keys keep their order.
 *
 * This is the only module that uses the JSON library. */
#ifndef RT_JSONB_H
#define RT_JSONB_H

#include <stddef.h>
#include "envelope.h"
#include "buf.h"

typedef enum {
    JSONB_OK = 0,
    JSONB_SYNTAX,   /* not JSON, invalid UTF-8, trailing data */
    JSONB_DEPTH,    /* nested deeper than max_depth */
    JSONB_RANGE,    /* a number outside the representable range */
    JSONB_NOMEM
} jsonb_err_t;

/* Parses text[0..len) and appends its msgpack form to w. max_depth counts container levels:
 * the top-level object is level 1. On error writes a short reason into why (if non-NULL),
 * leaves w in an unspecified state and returns the error. */
jsonb_err_t jsonb_to_mp(const char *text, size_t len, int max_depth, mpw_t *w,
                        char *why, size_t whylen);

/* Appends the compact JSON text of v to out. bin is written as a base64 string, ext as null,
 * non-finite floats as null, map keys that are not strings are written as their JSON text in
 * a string. Returns 0, or -1 when v is absent or malformed. */
int jsonb_from_mp(mp_t v, buf_t *out);

/* Size of the compact JSON text of v (what jsonb_from_mp would append). */
size_t jsonb_size(mp_t v);

#endif
