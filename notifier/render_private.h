/*  render_private.h: what render.c and render_mail.c share.  Not for any
    other file.
*/
#ifndef RENDER_PRIVATE_H_INCLUDED
#define RENDER_PRIVATE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include "notice.h"
#include "sq_json.h"

//  A growing output.
typedef struct {
    char *data;                 //  malloc'd, NUL-terminated; NULL before the first append
    size_t length;              //  bytes in data, the NUL not counted
    bool failed;                //  an append ran out of memory: the result is NULL
} buffer_t;

//  printf into a buffer; a failure is remembered, not returned.
#define BUFFER_PRINTF(buffer, ...) \
    ((buffer)->failed |= sq_json_appendf (&(buffer)->data, &(buffer)->length, __VA_ARGS__) != 0)

//  Where the ids and folded headers wrap (RFC 5322's "SHOULD" length).
#define RENDER_WRAP_WIDTH   78

//  Append size bytes of data.
void render_append (buffer_t *buffer, const char *data, size_t size);

//  The buffer's text, or NULL if an append failed.  Caller frees.
char *render_finish (buffer_t *buffer);

//  Clean text in place (it never grows): invalid UTF-8 bytes become '?';
//  when one_line, every control character becomes a space.
void render_clean (char *text, bool one_line);

//  The longest prefix of text [0..size) no longer than limit that does not
//  split a UTF-8 sequence.
size_t render_utf8_cut (const char *text, size_t size, size_t limit);

//  The ids of the notices after prefix, separator ", " (or "," when
//  compact), wrapped before width columns onto line_end + indent lines
//  (width 0: one line).
void render_ids (buffer_t *buffer, const notice_t *const *notices, size_t count,
                 const char *prefix, bool compact, size_t width, const char *line_end,
                 const char *indent);

#endif
