/* The limits of the internal protocols, defined once. Every flag that touches one of them takes
 * its bounds from here, so no configuration can accept a message that a socket further along
 * would drop without an answer. */
#ifndef RT_WIRE_LIMITS_H
#define RT_WIRE_LIMITS_H

/* The largest msgpack frame any internal socket accepts (gateway link, service API, events,
 * mesh), and the deepest nesting one may have. */
#define RT_FRAME_MAX (4u * 1024u * 1024u)
#define RT_FRAME_DEPTH 64

/* The deepest an envelope puts a client payload: the router's `out` to a gateway is
 * {t, c|r, f: {type, payload: P}}, so P sits two containers down. Every other envelope
 * (a gateway's `msg`, a service request, an event, a mesh message) holds it one down. */
#define RT_ENVELOPE_DEPTH 2
/* So a payload may nest this deep (a map or array is 1), and no deeper. */
#define RT_PAYLOAD_DEPTH_MAX (RT_FRAME_DEPTH - RT_ENVELOPE_DEPTH)

/* Room, sender, `x` and the keys an envelope adds around a client frame stay far below this
 * (room 128, ids 64, type 64 bytes): a message whose `msg` envelope fits the frame minus this
 * reserve also fits as the `out` event that carries it to the other members. */
#define RT_ENVELOPE_RESERVE 1024u
#define RT_MESSAGE_ENVELOPE_MAX (RT_FRAME_MAX - RT_ENVELOPE_RESERVE)

#endif
