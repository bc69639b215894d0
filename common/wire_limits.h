/* The limits of the internal protocols, defined once. Every flag that touches one of them takes
 * its bounds from here, so no configuration can accept a message that a socket further along
 * would drop without an answer. */
#ifndef RT_WIRE_LIMITS_H
#define RT_WIRE_LIMITS_H

/* The largest msgpack frame any internal socket accepts (gateway link, service API, events,
 * mesh), and the deepest nesting one may have. */
#define RT_FRAME_MAX (4u * 1024u * 1024u)
#define RT_FRAME_DEPTH 64

/* The deepest an envelope puts a client value: a member's meta (a room:join payload) sits five
 * containers down, in a join ack or presence list {t, c, f: {payload: {members: [{meta: M}]}}}
 * and in a gateway's attach {conns: [{rooms: [[room, M]]}]}; an event's payload two down in
 * {t, r, f: {payload: P}}. */
#define RT_ENVELOPE_DEPTH 5
/* So a client value may nest this deep (a map or array is 1), and no deeper. */
#define RT_PAYLOAD_DEPTH_MAX (RT_FRAME_DEPTH - RT_ENVELOPE_DEPTH)
/* What the router puts whole into an `out` (an ack's result, an event's payload) sits two
 * containers down ({t, c|r, f: {payload: V}}): V may nest this deep. */
#define RT_OUT_VALUE_DEPTH_MAX (RT_FRAME_DEPTH - 2)

/* Room, sender, `x` and the keys an envelope adds around a client frame stay far below this
 * (room 128, ids 64, type 64 bytes): a message whose `msg` envelope fits the frame minus this
 * reserve also fits as the `out` event that carries it to the other members. */
#define RT_ENVELOPE_RESERVE 1024u
#define RT_MESSAGE_ENVELOPE_MAX (RT_FRAME_MAX - RT_ENVELOPE_RESERVE)

#endif
