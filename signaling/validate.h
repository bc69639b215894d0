/* The payload rules of the webrtc:* messages (docs/signaling.md). */
#ifndef RT_SIG_VALIDATE_H
#define RT_SIG_VALIDATE_H

#include "envelope.h"
#include <stddef.h>

#define SIG_SDP_MAX (64u * 1024u)      /* bytes of an offer/answer `sdp` */
#define SIG_CANDIDATE_MAX (2u * 1024u) /* bytes of a candidate's `candidate` */

typedef enum { SIG_OFFER, SIG_ANSWER, SIG_CANDIDATE, SIG_BYE, SIG_JOIN, SIG_UNKNOWN } sig_kind_t;

/* "webrtc:offer" -> SIG_OFFER, ...; SIG_UNKNOWN for anything else. */
sig_kind_t validate_kind(const char *type);

/* Checks the payload of a relayed message (offer, answer, candidate, bye):
 *   offer/answer: a map with `type` equal to "offer"/"answer" (as the message) and `sdp` a
 *     string of at most SIG_SDP_MAX bytes; other keys are ignored;
 *   candidate: nil, or a map (RTCIceCandidateInit) with `candidate` a string of at most
 *     SIG_CANDIDATE_MAX bytes, `sdpMid` absent/nil/string, `sdpMLineIndex` absent/nil/integer
 *     0..65535, `usernameFragment` absent/nil/string;
 *   bye: anything.
 * Returns 0, or -1 and a short reason in why (for the bad_request message). */
int validate_payload(sig_kind_t kind, mp_t payload, char *why, size_t whylen);

#endif
