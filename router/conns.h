/* The connection table: conn id -> its gateway, its user and the rooms it is in (bounded by
 * the per-connection room limit). */
#ifndef RT_CONNS_H
#define RT_CONNS_H

#include "errors.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct conns conns_t;

/* max_rooms: rooms per connection (the contract's `limit`). Caller owns; NULL on OOM. */
conns_t *conns_new(size_t max_rooms);
void conns_destroy(conns_t **self_p);

/* Registers conn on gateway gw with user (NULL: anonymous). An existing conn of that id is
 * moved to gw and gets the new user, keeping its rooms. Returns 0 or -1 (OOM). */
int conns_add(conns_t *self, const char *conn, const char *gw, const char *user);
/* The generation of conn's registration: its gateway's attach count when that gateway last
 * registered it (0: unknown, or from a gateway that does not say). Only one gateway ever
 * registers a conn id, so between two nodes claiming it the higher generation is the newer
 * claim. conns_add keeps it; conns_set_gen sets it (ignored for an unknown conn). */
uint64_t conns_gen(conns_t *self, const char *conn);
void conns_set_gen(conns_t *self, const char *conn, uint64_t gen);
/* Forgets conn (its rooms list too). Returns 0, or -1 when unknown. */
int conns_remove(conns_t *self, const char *conn);

bool conns_exists(conns_t *self, const char *conn);
size_t conns_count(conns_t *self);
const char *conns_gw(conns_t *self, const char *conn);   /* NULL when unknown */
const char *conns_user(conns_t *self, const char *conn); /* NULL: anonymous or unknown */

/* Records that conn is in room. RT_OK (also when already recorded), RT_E_LIMIT when conn is
 * at the room limit, RT_E_PEER_NOT_FOUND for an unknown conn, RT_E_INTERNAL on OOM. */
rt_err_t conns_room_add(conns_t *self, const char *conn, const char *room);
/* Returns 0, or -1 when conn was not recorded in room. */
int conns_room_remove(conns_t *self, const char *conn, const char *room);
bool conns_in_room(conns_t *self, const char *conn, const char *room);
/* The rooms of conn in join order: a borrowed array, valid until the next change of conn. */
size_t conns_rooms(conns_t *self, const char *conn, const char *const **rooms);

/* The ids of every conn on gateway gw: a fresh NULL-terminated array of fresh strings, caller
 * frees with conns_list_free. *n gets the count. NULL on OOM. */
char **conns_of_gateway(conns_t *self, const char *gw, size_t *n);
void conns_list_free(char ***list_p);

/* Calls fn(conn, gw, user, arg) for every conn; fn may look conns up but must not change
 * the table. */
void conns_each(conns_t *self,
                void (*fn)(const char *conn, const char *gw, const char *user, void *arg),
                void *arg);

#endif
