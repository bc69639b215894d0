/* Identifiers and the name rules of the client protocol (docs/protocol.md). */
#include "ids.h"

#include <string.h>
#include <sys/random.h>
#include <time.h>

static const char alnum[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/* Rejection sampling keeps the 62 characters equally likely (bytes >= 248 are redrawn). */
void ids_random(char *out, size_t n)
{
    unsigned char pool[64];
    size_t have = 0, used = 0, i = 0;
    while (i < n) {
        if (used == have) {
            ssize_t r = getrandom(pool, sizeof pool, 0);
            if (r <= 0) {
                /* getrandom only fails before the pool is seeded or on EINTR; fall back
                 * to the clock so that we never fail (ids stay unique enough for a node). */
                struct timespec ts;
                clock_gettime(CLOCK_MONOTONIC, &ts);
                unsigned long long x = (unsigned long long)ts.tv_nsec * 6364136223846793005ULL +
                                       (unsigned long long)ts.tv_sec + i;
                for (size_t k = 0; k < sizeof pool; k++) {
                    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
                    pool[k] = (unsigned char)(x >> 56);
                }
                r = sizeof pool;
            }
            have = (size_t)r;
            used = 0;
        }
        unsigned char c = pool[used++];
        if (c < 248)
            out[i++] = alnum[c % 62];
    }
    out[n] = '\0';
}

static bool name_ok(const char *s, size_t len, size_t max, const char *extra)
{
    if (!s || len == 0 || len > max)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
            continue;
        if (c == '\0' || !strchr(extra, c))
            return false;
    }
    return true;
}

bool ids_valid_type(const char *s, size_t len)
{
    return name_ok(s, len, RT_TYPE_MAX, "_.:-");
}
bool ids_valid_room(const char *s, size_t len)
{
    return name_ok(s, len, RT_ROOM_MAX, "_.:@/-");
}
bool ids_valid_conn(const char *s, size_t len)
{
    return name_ok(s, len, RT_CONN_MAX, "_.:-");
}

bool ids_reserved_type(const char *s, size_t len)
{
    static const char *const ns[] = {"room:", "presence:", "webrtc:", "sys:", "mesh:", "conn:"};
    if (!s)
        return false;
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        size_t n = strlen(ns[i]);
        if (len >= n && memcmp(s, ns[i], n) == 0)
            return true;
    }
    return false;
}

int64_t ids_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t ids_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t ids_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
