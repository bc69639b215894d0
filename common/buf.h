/* A growable byte buffer. */
#ifndef RT_BUF_H
#define RT_BUF_H

#include <stddef.h>

typedef struct {
    char *data;
    size_t len, cap;
    int oom;          /* set once an allocation failed; later appends are ignored */
} buf_t;

#define BUF_INIT { NULL, 0, 0, 0 }

/* Make room for n more bytes; returns 0 or -1 (and sets oom). */
int buf_reserve(buf_t *b, size_t n);
void buf_append(buf_t *b, const void *p, size_t n);
void buf_putc(buf_t *b, char c);
void buf_puts(buf_t *b, const char *s);
void buf_printf(buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_reset(buf_t *b);     /* len = 0, keeps the memory */
void buf_free(buf_t *b);

#endif
