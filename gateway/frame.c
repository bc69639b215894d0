/* Reference-counted outgoing frames and per-connection frame queues. */
#include "frame.h"

#include <stdlib.h>
#include <string.h>

struct frame {
    uint32_t refs;
    uint32_t pre;
    size_t len;
    uint8_t bytes[]; /* pre bytes of headroom, then len bytes of text */
};

frame_t *frame_new(size_t pre, const void *data, size_t len)
{
    frame_t *f = malloc(sizeof *f + pre + len + 1);
    if (!f)
        return NULL;
    f->refs = 1;
    f->pre = (uint32_t)pre;
    f->len = len;
    if (len)
        memcpy(f->bytes + pre, data, len);
    f->bytes[pre + len] = 0;
    return f;
}

frame_t *frame_ref(frame_t *f)
{
    f->refs++;
    return f;
}

void frame_unref(frame_t **f_p)
{
    if (!f_p || !*f_p)
        return;
    frame_t *f = *f_p;
    *f_p = NULL;
    if (--f->refs == 0)
        free(f);
}

uint8_t *frame_data(frame_t *f)
{
    return f->bytes + f->pre;
}
size_t frame_len(const frame_t *f)
{
    return f->len;
}

/* Rings larger than this are freed when they drain, so a burst does not pin memory on an
 * idle connection; smaller ones are kept to avoid a malloc per message. */
#define FQUEUE_KEEP 16

static int grow(fqueue_t *q)
{
    if (q->count == q->cap) {
        uint32_t ncap = q->cap ? q->cap * 2 : 4;
        frame_t **nr = malloc(ncap * sizeof *nr);
        if (!nr)
            return -1;
        for (uint32_t i = 0; i < q->count; i++)
            nr[i] = q->ring[(q->head + i) % q->cap];
        free(q->ring);
        q->ring = nr;
        q->cap = ncap;
        q->head = 0;
    }
    return 0;
}

int fqueue_push(fqueue_t *q, frame_t *f, size_t max_bytes)
{
    if (max_bytes && q->bytes + f->len > max_bytes)
        return -1;
    if (grow(q) != 0)
        return -1;
    q->ring[(q->head + q->count) % q->cap] = frame_ref(f);
    q->count++;
    q->bytes += f->len;
    return 0;
}

int fqueue_push_front(fqueue_t *q, frame_t *f)
{
    if (grow(q) != 0)
        return -1;
    q->head = (q->head + q->cap - 1) % q->cap;
    q->ring[q->head] = frame_ref(f);
    q->count++;
    q->bytes += f->len;
    return 0;
}

frame_t *fqueue_peek(const fqueue_t *q)
{
    return q->count ? q->ring[q->head] : NULL;
}

frame_t *fqueue_at(const fqueue_t *q, uint32_t i)
{
    return i < q->count ? q->ring[(q->head + i) % q->cap] : NULL;
}

void fqueue_pop(fqueue_t *q)
{
    if (!q->count)
        return;
    frame_t *f = q->ring[q->head];
    q->bytes -= f->len;
    frame_unref(&f);
    q->head = (q->head + 1) % q->cap;
    q->count--;
    if (q->count == 0) {
        q->head = 0;
        if (q->cap > FQUEUE_KEEP) {
            free(q->ring);
            q->ring = NULL;
            q->cap = 0;
        }
    }
}

void fqueue_clear(fqueue_t *q)
{
    while (q->count)
        fqueue_pop(q);
    free(q->ring);
    q->ring = NULL;
    q->cap = q->head = 0;
    q->bytes = 0;
}
