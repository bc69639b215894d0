/* Identifiers and the name rules of the client protocol. */
#ifndef RT_IDS_H
#define RT_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RT_CONN_MAX 64
#define RT_TYPE_MAX 64
#define RT_ROOM_MAX 128
#define RT_ID_MAX 9007199254740991LL /* 2^53 - 1 */

/* Writes n random characters of [A-Za-z0-9] and a NUL into out (out has n + 1 bytes).
 * Uses getrandom(); never fails. */
void ids_random(char *out, size_t n);

/* type: 1-64 chars of [A-Za-z0-9_.:-] */
bool ids_valid_type(const char *s, size_t len);
/* room: 1-128 chars of [A-Za-z0-9_.:@/-] */
bool ids_valid_room(const char *s, size_t len);
/* connection id: 1-64 chars of [A-Za-z0-9_.:-] */
bool ids_valid_conn(const char *s, size_t len);
/* Reserved namespaces: room: presence: webrtc: sys: mesh: conn: */
bool ids_reserved_type(const char *s, size_t len);

/* Milliseconds since the epoch (wall clock) and a monotonic millisecond clock. */
int64_t ids_now_ms(void);
int64_t ids_now_us(void); /* microseconds since the epoch (wall clock) */
int64_t ids_mono_ms(void);

#endif
