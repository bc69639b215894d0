/* Per-connection token bucket for client frames (CONTRACT §2 limits): `rate` frames per
 * second sustained, bursts up to `burst`; a connection limited in each of 10 consecutive
 * seconds is to be closed (1008). Embedded in every connection, so the struct is public. */
#ifndef RT_GW_RATELIMIT_H
#define RT_GW_RATELIMIT_H

#include <stdint.h>

typedef struct {
    int64_t last_ms;      /* time of the last refill */
    int64_t milli;        /* tokens * 1000 */
    int32_t streak_sec;   /* the second (now_ms / 1000) of the last limited frame */
    uint16_t streak;      /* consecutive seconds with a limited frame, up to that second */
} rl_t;

typedef enum { RL_PASS = 0, RL_LIMITED, RL_CLOSE } rl_result_t;

#define RL_CLOSE_STREAK 10

/* Starts with a full bucket. */
void rl_init(rl_t *rl, int64_t now_ms, long burst);
/* Takes one token. rate 0 disables the limit (always RL_PASS). RL_LIMITED: drop the frame
 * with rate_limited; RL_CLOSE: limited in RL_CLOSE_STREAK consecutive seconds. */
rl_result_t rl_take(rl_t *rl, int64_t now_ms, long rate, long burst);

#endif
