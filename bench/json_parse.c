/* JSON parser comparison for the gateway's hot path: parse a client frame, walk the tree,
 * free it. Not part of the cmake build; run bench/json_parse.sh. Also prints which inputs
 * each library accepts that the contract says must be rejected.
 *
 * Walking: jansson, json-c, cJSON and yajl all build a tree; every run visits every node
 * (what jsonb_to_mp does) so that lazy libraries are not flattered.
 *
 * jansson's and json-c's headers declare the same names (json_object, json_object_get...),
 * so this file is compiled twice: with -DWITH_JSONC it measures json-c alone, otherwise
 * jansson, cJSON and yajl. With -DWITH_JSONB it measures the project's own bridge
 * (common/jsonb.c: jansson parse + walk into msgpack, and msgpack -> JSON text) with
 * reused buffers, as the gateway uses it. json_parse.sh builds and runs all three. */
#ifdef WITH_JSONC
#include <json-c/json.h>
#elif defined(WITH_JSONB)
#include "jsonb.h"
#else
#include <cjson/cJSON.h>
#include <jansson.h>
#include <yajl/yajl_tree.h>
#endif
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static size_t sink; /* defeats dead-code elimination */

/* ---- walkers: count nodes and string bytes ---- */
#if !defined(WITH_JSONC) && !defined(WITH_JSONB)
static void walk_jansson(const json_t *j)
{
    sink++;
    if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach((json_t *)j, k, v)
        {
            sink += strlen(k);
            walk_jansson(v);
        }
    } else if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j); i++)
            walk_jansson(json_array_get(j, i));
    } else if (json_is_string(j)) {
        sink += json_string_length(j);
    }
}

#endif

#ifdef WITH_JSONC
static void walk_jsonc(struct json_object *j)
{
    sink++;
    switch (json_object_get_type(j)) {
    case json_type_object: {
        json_object_object_foreach(j, k, v)
        {
            sink += strlen(k);
            walk_jsonc(v);
        }
        break;
    }
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(j); i++)
            walk_jsonc(json_object_array_get_idx(j, i));
        break;
    case json_type_string:
        sink += (size_t)json_object_get_string_len(j);
        break;
    default:
        break;
    }
}

#elif !defined(WITH_JSONB)
static void walk_cjson(const cJSON *j)
{
    sink++;
    if (cJSON_IsString(j))
        sink += strlen(j->valuestring);
    for (const cJSON *c = j->child; c; c = c->next) {
        if (c->string)
            sink += strlen(c->string);
        walk_cjson(c);
    }
}

static void walk_yajl(yajl_val v)
{
    sink++;
    if (YAJL_IS_OBJECT(v)) {
        for (size_t i = 0; i < v->u.object.len; i++) {
            sink += strlen(v->u.object.keys[i]);
            walk_yajl(v->u.object.values[i]);
        }
    } else if (YAJL_IS_ARRAY(v)) {
        for (size_t i = 0; i < v->u.array.len; i++)
            walk_yajl(v->u.array.values[i]);
    } else if (YAJL_IS_STRING(v)) {
        sink += strlen(v->u.string);
    }
}

#endif

/* ---- one parse + walk + free per library; 0 = accepted, -1 = rejected ---- */
#ifdef WITH_JSONC
static struct json_tokener *tok;
#elif !defined(WITH_JSONB)
static int run_jansson(const char *s, size_t n)
{
    json_error_t e;
    json_t *j = json_loadb(s, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
    if (!j)
        return -1;
    walk_jansson(j);
    json_decref(j);
    return 0;
}

#endif

#ifdef WITH_JSONC
static int run_jsonc(const char *s, size_t n)
{
    json_tokener_reset(tok);
    struct json_object *j = json_tokener_parse_ex(tok, s, (int)n);
    if (!j || json_tokener_get_error(tok) != json_tokener_success)
        return -1;
    /* json_tokener_parse_ex stops after one value: check for trailing bytes ourselves. */
    int rc = 0;
    size_t used = json_tokener_get_parse_end(tok);
    while (used < n && (s[used] == ' ' || s[used] == '\n' || s[used] == '\t' || s[used] == '\r'))
        used++;
    if (used != n)
        rc = -1;
    else
        walk_jsonc(j);
    json_object_put(j);
    return rc;
}

#elif !defined(WITH_JSONB)
static int run_cjson(const char *s, size_t n)
{
    /* cJSON only rejects trailing garbage when it finds a NUL inside the given length:
     * pass the terminator (every input here has one at s[n]). */
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(s, n + 1, &end, 1);
    if (!j)
        return -1;
    walk_cjson(j);
    cJSON_Delete(j);
    return 0;
}

/* yajl_tree_parse needs a NUL-terminated string: the copy is part of its cost. */
static int run_yajl(const char *s, size_t n)
{
    char stackbuf[8192], *copy = n < sizeof stackbuf ? stackbuf : malloc(n + 1);
    memcpy(copy, s, n);
    copy[n] = '\0';
    yajl_val v = yajl_tree_parse(copy, NULL, 0);
    if (copy != stackbuf)
        free(copy);
    if (!v)
        return -1;
    walk_yajl(v);
    yajl_tree_free(v);
    return 0;
}

#endif

#ifdef WITH_JSONB
static mpw_t jw = MPW_INIT;
static buf_t jb = BUF_INIT;

static int run_jsonb_in(const char *s, size_t n)
{
    mpw_reset(&jw);
    return jsonb_to_mp(s, n, 64, &jw, NULL, 0) == JSONB_OK ? 0 : -1;
}

/* Output direction: the msgpack form of the input (prepared once) written back as JSON. */
static int run_jsonb_out(const char *s, size_t n)
{
    static mpw_t src = MPW_INIT;
    static const char *prepared;
    if (prepared != s) {
        mpw_reset(&src);
        if (jsonb_to_mp(s, n, 64, &src, NULL, 0) != JSONB_OK)
            return -1;
        prepared = s;
    }
    buf_reset(&jb);
    return jsonb_from_mp(mpw_view(&src), &jb);
}
#endif

typedef struct {
    const char *name;
    int (*run)(const char *, size_t);
} lib_t;

static const lib_t libs[] = {
#ifdef WITH_JSONC
    {"json-c 0.16 (strict+utf8)", run_jsonc},
#elif defined(WITH_JSONB)
    {"jsonb_to_mp (JSON -> mp)", run_jsonb_in},
    {"jsonb_from_mp (mp -> JSON)", run_jsonb_out},
#else
    {"jansson 2.14", run_jansson},
    {"cJSON 1.7.15", run_cjson},
    {"yajl 2.1 tree", run_yajl},
#endif
};
#define NLIBS (sizeof libs / sizeof libs[0])

static double bench(const lib_t *l, const char *s, size_t n, int iters)
{
    double best = 1e30;
    for (int round = 0; round < 5; round++) {
        double t0 = now_ns();
        for (int i = 0; i < iters; i++)
            if (l->run(s, n) < 0) {
                fprintf(stderr, "%s rejected the benchmark input\n", l->name);
                exit(1);
            }
        double per = (now_ns() - t0) / iters;
        if (per < best)
            best = per;
    }
    return best;
}

static const char small[] =
    "{\"type\":\"chat:message\",\"room\":\"lobby\",\"id\":12345,\"payload\":{\"text\":\"Hello "
    "everyone, this is a typical chat message\",\"user\":{\"name\":\"alice\",\"avatar\":"
    "\"https://x.io/a.png\"},\"ts\":1732575600123,\"tags\":[\"a\",\"b\"]}}";

/* ~4 KiB: an array of records with ints, floats, escapes and nested objects. */
static char *make_large(size_t *len)
{
    size_t cap = 8192, n = 0;
    char *s = malloc(cap);
    n += (size_t)snprintf(s + n, cap - n,
                          "{\"type\":\"doc:update\",\"room\":\"doc/42\","
                          "\"id\":99,\"payload\":{\"ops\":[");
    for (int i = 0; n < 3900; i++)
        n += (size_t)snprintf(s + n, cap - n,
                              "%s{\"op\":\"insert\",\"pos\":%d,\"w\":%.3f,\"text\":\"caf\\u00e9 "
                              "line %d\\n\",\"attrs\":{\"bold\":%s,\"size\":null}}",
                              i ? "," : "", i * 17, i * 0.125, i, i % 2 ? "true" : "false");
    n += (size_t)snprintf(s + n, cap - n, "]}}");
    *len = n;
    return s;
}

#ifndef WITH_JSONB
static void strictness(void)
{
    static const struct {
        const char *what, *text;
        size_t len;
    } cases[] = {
        {"invalid UTF-8 byte", "\"\xff\"", 3},
        {"overlong UTF-8", "\"\xc0\xaf\"", 4},
        {"lone surrogate \\ud83d", "\"\\ud83d\"", 8},
        {"NaN", "[NaN]", 5},
        {"2^64 integer", "18446744073709551616", 20},
        {"1e400", "1e400", 5},
        {"trailing garbage", "{} x", 4},
        {"single quotes", "{'a':1}", 7},
        {"trailing comma", "[1,]", 4},
        {"raw control char in string", "\"a\tb\"", 5},
    };
    printf("\nShould all be rejected (R = rejected, ACCEPTED = lenient):\n%-28s", "");
    for (size_t l = 0; l < NLIBS; l++)
        printf(" %-26s", libs[l].name);
    printf("\n");
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        printf("%-28s", cases[c].what);
        for (size_t l = 0; l < NLIBS; l++)
            printf(" %-26s", libs[l].run(cases[c].text, cases[c].len) < 0 ? "R" : "ACCEPTED");
        printf("\n");
    }
#ifdef WITH_JSONC
    /* What json-c makes of 2^64 in its default (non-strict) mode: */
    struct json_object *j = json_tokener_parse("[18446744073709551616, -9223372036854775809]");
    if (j)
        printf("\njson-c default mode reads [2^64, INT64_MIN-1] as %s\n",
               json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN));
    json_object_put(j);
#endif
}
#endif

int main(int argc, char **argv)
{
    bool header = argc < 2; /* the second run (json-c) passes "noheader" */
    (void)argv;
#ifdef WITH_JSONC
    tok = json_tokener_new();
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
#endif
#ifdef WITH_JSONB
    if (argc > 1 && argv[1][0] == 'r') /* "raw": print only the table rows */
        header = false;
#endif
    size_t large_len;
    char *large = make_large(&large_len);
    if (header) {
        printf("parse + walk + free, best of 5 rounds, ns/op\n");
        printf("%-28s %14s %14s\n", "library", "200 B frame", "4 KiB frame");
        printf("%-28s %14zu %14zu\n", "(bytes)", sizeof small - 1, large_len);
    }
    for (size_t l = 0; l < NLIBS; l++) {
        double a = bench(&libs[l], small, sizeof small - 1, 200000);
        double b = bench(&libs[l], large, large_len, 10000);
        printf("%-28s %14.0f %14.0f\n", libs[l].name, a, b);
    }
#ifndef WITH_JSONB
    strictness();
#endif
#ifdef WITH_JSONC
    json_tokener_free(tok);
#endif
    free(large);
    return sink == 42 ? 1 : 0;
}
