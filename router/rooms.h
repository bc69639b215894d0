/* The room table: room -> members in join order (conn, user, meta, gateway, join time), plus per
 * room a small array of {gateway, local member count} so that a room event is sent once per gateway
 * that has members, without walking the members. */
#ifndef RT_ROOMS_H
#define RT_ROOMS_H

#include "envelope.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct rooms rooms_t;
typedef struct rooms_member rooms_member_t;

/* One gateway that has members in a room, and how many. */
typedef struct {
    char *gw;
    uint32_t count;
} rooms_gw_t;

/* Caller owns. NULL on allocation failure. */
rooms_t *rooms_new(void);
void rooms_destroy(rooms_t **self_p);

/* Adds conn (on gateway gw, user NULL when anonymous) to room with meta (msgpack, copied;
 * absent: stored as an empty map). Creates the room on its first member.
 * Returns 1 when added, 0 when conn was already a member (nothing changes), -1 on OOM. */
int rooms_add(rooms_t *self, const char *room, const char *conn, const char *user, const char *gw,
              mp_t meta);
/* rooms_add with the member's join time ts: members are kept ordered by (ts, conn), so nodes
 * that add the same members with the same times list them in the same order whatever order
 * they were added in. rooms_add appends: its ts is just after the last member's. */
int rooms_add_at(rooms_t *self, const char *room, const char *conn, const char *user,
                 const char *gw, mp_t meta, int64_t ts);
/* Removes conn from room (the room goes away with its last member). Returns 1 or 0 (not a member).
 */
int rooms_remove(rooms_t *self, const char *room, const char *conn);

/* Moves member conn of room to gateway gw (its connection now lives there), keeping its
 * place in the join order and its meta. Returns 1 when moved, 0 when not a member or already
 * on gw, -1 on OOM (nothing changes). */
int rooms_set_gw(rooms_t *self, const char *room, const char *conn, const char *gw);

bool rooms_is_member(rooms_t *self, const char *room, const char *conn);
size_t rooms_count(rooms_t *self);                  /* rooms with at least one member */
size_t rooms_size(rooms_t *self, const char *room); /* members of room, 0 when absent */

/* Members in join order, (ts, conn): first, then next until NULL. Borrowed; invalid after a change
 * to that room. */
const rooms_member_t *rooms_first(rooms_t *self, const char *room);
const rooms_member_t *rooms_next(const rooms_member_t *m);
const rooms_member_t *rooms_member(rooms_t *self, const char *room, const char *conn);
const char *rooms_member_conn(const rooms_member_t *m);
const char *rooms_member_user(const rooms_member_t *m); /* NULL: anonymous */
const char *rooms_member_gw(const rooms_member_t *m);
mp_t rooms_member_meta(const rooms_member_t *m);
int64_t rooms_member_ts(const rooms_member_t *m);
/* Gives member conn of room the join time ts (moving it to its place). 1, or 0 (not a member). */
int rooms_set_ts(rooms_t *self, const char *room, const char *conn, int64_t ts);

/* The gateways with members in room: sets *gws to a borrowed array and returns its length. */
size_t rooms_gateways(rooms_t *self, const char *room, const rooms_gw_t **gws);

/* Every room name, for iteration: calls fn(room, members, arg) for each. fn must not change
 * the table. */
void rooms_each(rooms_t *self, void (*fn)(const char *room, size_t members, void *arg), void *arg);

#endif
