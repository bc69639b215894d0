/* ICE server credentials and the perfect-negotiation role rule of webrtc:join. */
#ifndef RT_SIG_TURN_H
#define RT_SIG_TURN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* TURN REST-API credentials (draft-uberti-behave-turn-rest, coturn's use-auth-secret):
 * username "EXPIRY:CONN" (EXPIRY in seconds since the epoch), credential
 * base64(HMAC-SHA1(secret, username)). Writes both NUL-terminated; returns 0, or -1 when a
 * buffer is too small or HMAC fails. A credential is at most 29 bytes (28 + NUL). */
int turn_credential(const char *secret, const char *conn, int64_t expiry, char *username,
                    size_t ulen, char *credential, size_t clen);

/* The polite side of a pair (perfect negotiation): `self` is polite towards `peer` iff its id
 * sorts after the peer's (strcmp > 0). Both sides compute the same answer with roles swapped,
 * so exactly one of them is polite. */
bool turn_polite(const char *self, const char *peer);

#endif
