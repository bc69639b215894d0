/* Reference-counted outgoing frames and the bounded per-connection queue of them.
 *
 * A frame is encoded once (JSON text with `pre` bytes of headroom in front for the
 * WebSocket header) and shared by every recipient: each queue holds a reference. */
#ifndef RT_GW_FRAME_H
#define RT_GW_FRAME_H

#include <stddef.h>
#include <stdint.h>

typedef struct frame frame_t;

/* A new frame with refcount 1 holding a copy of data[0..len) after `pre` bytes of headroom.
 * Returns NULL on allocation failure. Caller owns the reference. */
frame_t *frame_new(size_t pre, const void *data, size_t len);
/* Adds a reference; returns f. */
frame_t *frame_ref(frame_t *f);
/* Drops a reference (frees at zero) and NULLs *f_p; safe on NULL. */
void frame_unref(frame_t **f_p);
/* The text (headroom is in front of it) and its length. */
uint8_t *frame_data(frame_t *f);
size_t frame_len(const frame_t *f);

/* A FIFO of frame references with a byte budget. Embedded in every connection, so the
 * struct is public (16 + 8 bytes); an empty queue owns no memory beyond a small ring. */
typedef struct {
    frame_t **ring;
    uint32_t cap, head, count;
    size_t bytes; /* sum of frame_len of the queued frames */
} fqueue_t;

#define FQUEUE_INIT                                                                                \
    {                                                                                              \
        NULL, 0, 0, 0, 0                                                                           \
    }

/* Appends a new reference to f unless the queued bytes would then exceed max_bytes
 * (0 = no limit). Returns 0, or -1 (over budget or out of memory; nothing queued). */
int fqueue_push(fqueue_t *q, frame_t *f, size_t max_bytes);
/* Puts a new reference to f before every queued frame (ignores the byte budget).
 * Returns 0 or -1 (out of memory). */
int fqueue_push_front(fqueue_t *q, frame_t *f);
/* The oldest frame (borrowed), or NULL. */
frame_t *fqueue_peek(const fqueue_t *q);
/* The i-th queued frame (0 = oldest, borrowed), or NULL past the end. */
frame_t *fqueue_at(const fqueue_t *q, uint32_t i);
/* Drops the oldest frame. */
void fqueue_pop(fqueue_t *q);
/* Drops every frame and frees the ring. */
void fqueue_clear(fqueue_t *q);

#endif
