/* Per-connection token bucket for client frames (CONTRACT §2 limits): `rate` frames per
 * second sustained, bursts up to `burst`; a connection limited in each of 10 consecutive
 * seconds is to be closed (1008). A streak of limited frames lasts while they come less than
 * a second apart; "each of 10 consecutive seconds" = the streak has lasted 9 s (its 10th
 * second). Embedded in every connection, so the struct is public. */
#ifndef RT_GW_RATELIMIT_H
#define RT_GW_RATELIMIT_H

#include <stdint.h>

typedef struct {
    int64_t last_ms;    /* time of the last refill */
    int64_t milli;      /* tokens * 1000 */
    int64_t streak_ms;  /* first limited frame of the current streak */
    int64_t limited_ms; /* last limited frame */
} rl_t;

typedef enum { RL_PASS = 0, RL_LIMITED, RL_CLOSE } rl_result_t;

#define RL_CLOSE_STREAK 10 /* seconds */

/* Starts with a full bucket. */
void rl_init(rl_t *rl, int64_t now_ms, long burst);
/* Takes one token. rate 0 disables the limit (always RL_PASS). RL_LIMITED: drop the frame
 * with rate_limited; RL_CLOSE: limited in RL_CLOSE_STREAK consecutive seconds. */
rl_result_t rl_take(rl_t *rl, int64_t now_ms, long rate, long burst);

#endif
