/*  template.h: webhook body templates, for an owner's `webhook_template`.

    A template is text with placeholders in double braces, {{url}},
    {{state}}, ...: the names are listed in template.c and docs/CONFIG.md.
    Each value is written escaped for a JSON string (quote, backslash and
    control characters), so a template may put a placeholder inside a JSON
    string and a server's error text cannot break out of it; in a form or
    plain text body the escaping changes nothing but those characters.  An
    unknown name, or a brace left open, is refused when the config loads.
*/
#ifndef TEMPLATE_H_INCLUDED
#define TEMPLATE_H_INCLUDED

#include <stddef.h>
#include "notice.h"

//  0 if text is a valid template; else -1, with *error_at the byte offset
//  of the mistake and a one-line reason in why.
int template_check (const char *text, size_t *error_at, char *why, size_t why_size);

//  The body for notices [0..count) (count >= 1; a digest fills the
//  placeholders from the newest notice, with {{count}} and {{summary}} for
//  the rest).  NULL if out of memory or the template is invalid.  Caller frees.
char *template_expand (const char *text, const notice_t *const *notices, size_t count);

#endif
