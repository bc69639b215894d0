/* Token bucket with integer milli-tokens (no floating point on the hot path). */
#include "ratelimit.h"

void rl_init(rl_t *rl, int64_t now_ms, long burst)
{
    rl->last_ms = now_ms;
    rl->milli = (int64_t)burst * 1000;
    rl->streak_sec = -2;
    rl->streak = 0;
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
    int32_t sec = (int32_t)(now_ms / 1000);
    if (sec != rl->streak_sec) {
        rl->streak = (sec == rl->streak_sec + 1) ? rl->streak + 1 : 1;
        rl->streak_sec = sec;
    }
    return rl->streak >= RL_CLOSE_STREAK ? RL_CLOSE : RL_LIMITED;
}
