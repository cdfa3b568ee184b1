/*  sq_json.c: see sq_json.h. */
#include "sq_json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int
s_append (char **buffer, size_t *length, const char *text, size_t size)
{
    char *grown = (char *) realloc (*buffer, *length + size + 1);
    if (!grown)
        return -1;
    memcpy (grown + *length, text, size);
    *length += size;
    grown [*length] = '\0';
    *buffer = grown;
    return 0;
}

int
sq_json_appendf (char **buffer, size_t *length, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    char *text = NULL;
    int size = vasprintf (&text, format, args);
    va_end (args);
    if (size < 0)
        return -1;
    int rc = s_append (buffer, length, text, (size_t) size);
    free (text);
    return rc;
}

int
sq_json_append_string (char **buffer, size_t *length, const char *text)
{
    if (s_append (buffer, length, "\"", 1))
        return -1;
    const char *run = text;
    for (const char *at = text; ; at++) {
        unsigned char byte = (unsigned char) *at;
        if (byte != '\0' && byte >= 0x20 && byte != '"' && byte != '\\')
            continue;
        if (s_append (buffer, length, run, (size_t) (at - run)))
            return -1;
        if (byte == '\0')
            break;
        char escape [8];
        if (byte == '"' || byte == '\\')
            snprintf (escape, sizeof (escape), "\\%c", byte);
        else
        if (byte == '\n')
            snprintf (escape, sizeof (escape), "\\n");
        else
        if (byte == '\t')
            snprintf (escape, sizeof (escape), "\\t");
        else
            snprintf (escape, sizeof (escape), "\\u%04x", byte);
        if (s_append (buffer, length, escape, strlen (escape)))
            return -1;
        run = at + 1;
    }
    return s_append (buffer, length, "\"", 1);
}

void
sq_time_iso (int64_t unix_us, char *out, size_t out_size)
{
    time_t seconds = (time_t) (unix_us / 1000000);
    struct tm when;
    gmtime_r (&seconds, &when);
    char date [24];
    strftime (date, sizeof (date), "%Y-%m-%dT%H:%M:%S", &when);
    snprintf (out, out_size, "%s.%03dZ", date, (int) ((unix_us / 1000) % 1000));
}
