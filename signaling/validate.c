/* The payload rules of the webrtc:* messages (see validate.h). */
#include "validate.h"

#include <stdio.h>
#include <string.h>

sig_kind_t validate_kind(const char *type)
{
    static const char *names[] = {"webrtc:offer", "webrtc:answer", "webrtc:candidate", "webrtc:bye",
                                  "webrtc:join"};
    for (int i = 0; type && i < SIG_UNKNOWN; i++)
        if (strcmp(type, names[i]) == 0)
            return (sig_kind_t)i;
    return SIG_UNKNOWN;
}

static int fail(char *why, size_t whylen, const char *text)
{
    snprintf(why, whylen, "%s", text);
    return -1;
}

/* absent, nil or a string */
static bool opt_str(mp_t v)
{
    mp_type_t t = mp_type(v);
    return t == MP_ABSENT || t == MP_NIL || t == MP_STR;
}

static int check_description(sig_kind_t kind, mp_t p, char *why, size_t whylen)
{
    const char *want = kind == SIG_OFFER ? "offer" : "answer";
    if (mp_type(p) != MP_MAP)
        return fail(why, whylen, "payload must be an object {type, sdp}");
    if (!mp_str_eq(mp_get(p, "type"), want)) {
        snprintf(why, whylen, "payload.type must be \"%s\"", want);
        return -1;
    }
    const char *sdp;
    size_t len;
    if (mp_str(mp_get(p, "sdp"), &sdp, &len) != 0)
        return fail(why, whylen, "payload.sdp must be a string");
    if (len > SIG_SDP_MAX)
        return fail(why, whylen, "payload.sdp is longer than 64 KiB");
    return 0;
}

static int check_candidate(mp_t p, char *why, size_t whylen)
{
    if (mp_is_nil(p) || !mp_present(p))
        return 0; /* end of candidates */
    if (mp_type(p) != MP_MAP)
        return fail(why, whylen, "payload must be an RTCIceCandidateInit object or null");
    const char *s;
    size_t len;
    if (mp_str(mp_get(p, "candidate"), &s, &len) != 0)
        return fail(why, whylen, "payload.candidate must be a string");
    if (len > SIG_CANDIDATE_MAX)
        return fail(why, whylen, "payload.candidate is longer than 2 KiB");
    if (!opt_str(mp_get(p, "sdpMid")))
        return fail(why, whylen, "payload.sdpMid must be a string or null");
    if (!opt_str(mp_get(p, "usernameFragment")))
        return fail(why, whylen, "payload.usernameFragment must be a string or null");
    mp_t idx = mp_get(p, "sdpMLineIndex");
    if (mp_present(idx) && !mp_is_nil(idx)) {
        int64_t i;
        if (mp_int(idx, &i) != 0 || i < 0 || i > 65535)
            return fail(why, whylen, "payload.sdpMLineIndex must be an integer 0..65535 or null");
    }
    return 0;
}

int validate_payload(sig_kind_t kind, mp_t payload, char *why, size_t whylen)
{
    switch (kind) {
    case SIG_OFFER:
    case SIG_ANSWER:
        return check_description(kind, payload, why, whylen);
    case SIG_CANDIDATE:
        return check_candidate(payload, why, whylen);
    case SIG_BYE:
        return 0;
    default:
        return fail(why, whylen, "not a relayed webrtc type");
    }
}
