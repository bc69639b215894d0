/* Token bucket with integer milli-tokens (no floating point on the hot path). */
#include "ratelimit.h"

void rl_init(rl_t *rl, int64_t now_ms, long burst)
{
    rl->last_ms = now_ms;
    rl->milli = (int64_t)burst * 1000;
    rl->streak_ms = rl->limited_ms = INT64_MIN / 2;
}

rl_result_t rl_take(rl_t *rl, int64_t now_ms, long rate, long burst)
{
    if (rate <= 0)
        return RL_PASS;
    int64_t cap = (int64_t)burst * 1000;
    if (now_ms > rl->last_ms) {
        /* rate tokens per second = rate milli-tokens per millisecond */
        int64_t add = (now_ms - rl->last_ms) * rate;
        rl->milli = (add >= cap - rl->milli) ? cap : rl->milli + add;
        rl->last_ms = now_ms;
    }
    if (rl->milli >= 1000) {
        rl->milli -= 1000;
        return RL_PASS;
    }
    if (now_ms - rl->limited_ms >= 1000)
        rl->streak_ms = now_ms; /* a second without a limited frame ended the last streak */
    rl->limited_ms = now_ms;
    return now_ms - rl->streak_ms >= (RL_CLOSE_STREAK - 1) * 1000 ? RL_CLOSE : RL_LIMITED;
}
