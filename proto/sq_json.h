/*  sq_json.h: the little JSON and time formatting our outputs need.
    (`sweep --json`, `watch --json`, webhook bodies.)  We only ever write
    JSON, never read it, so a string escaper and a buffer suffice.
*/
#ifndef SQ_JSON_H_INCLUDED
#define SQ_JSON_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#include "sq_proto.h"

//  Append text to *buffer (NULL at first, then only ever grown by these
//  functions: its room follows from *length; NUL-terminated)
//  as a JSON string with quotes; bytes below 0x20, quote and backslash are
//  escaped.  Returns 0, or -1 if out of memory.
int sq_json_append_string (char **buffer, size_t *length, const char *text);

//  Append printf-formatted text to *buffer.  0, or -1.
int sq_json_appendf (char **buffer, size_t *length, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  An ALERT as one JSON object (`watch --json`, the API's feed and alerts):
//  {"seq", "url", "state", "previous", "reason", "detail", "regions", "at",
//  "site_id"}.  The URL is written as the alert has it (the collector's
//  shown form).  The caller frees; NULL if out of memory.
char *sq_alert_json (const sq_alert_t *alert);

//  Write a unix-µs time as "2026-11-26T06:40:00.123Z" into out (>= 32 bytes).
void sq_time_iso (int64_t unix_us, char *out, size_t out_size);

#endif
