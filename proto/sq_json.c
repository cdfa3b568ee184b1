/*  sq_json.c: see sq_json.h. */
#include "sq_json.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

//  The room a buffer holding used bytes (its NUL counted) was given: 64
//  bytes, doubled until it fits.  The capacity is not stored: it follows
//  from the length, so the API stays (buffer, length), and a buffer grows
//  by doubling: appending n bytes in small pieces costs O(n), not O(n^2)
//  (a 2,000-alert digest is tens of thousands of appends).
static size_t
s_capacity (size_t used)
{
    size_t capacity = 64;
    while (capacity < used)
        capacity <<= 1;
    return capacity;
}

static int
s_append (char **buffer, size_t *length, const char *text, size_t size)
{
    size_t need = *length + size + 1;
    if (!*buffer || need > s_capacity (*length + 1)) {
        char *grown = (char *) realloc (*buffer, s_capacity (need));
        if (!grown)
            return -1;
        *buffer = grown;
    }
    memcpy (*buffer + *length, text, size);
    *length += size;
    (*buffer) [*length] = '\0';
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

char *
sq_alert_json (const sq_alert_t *alert)
{
    char at [40];
    sq_time_iso (alert->since, at, sizeof (at));
    char *line = NULL;
    size_t length = 0;
    int rc = sq_json_appendf (&line, &length, "{\"seq\":%llu,\"url\":",
                              (unsigned long long) alert->seq);
    rc |= sq_json_append_string (&line, &length, alert->url);
    rc |= sq_json_appendf (&line, &length,
                           ",\"state\":\"%s\",\"previous\":\"%s\",\"reason\":\"%s\",\"detail\":",
                           sq_state_name ((sq_state_t) alert->state),
                           sq_state_name ((sq_state_t) alert->previous),
                           sq_reason_name ((sq_reason_t) alert->reason));
    rc |= sq_json_append_string (&line, &length, alert->detail);
    rc |= sq_json_appendf (&line, &length, ",\"regions\":");
    rc |= sq_json_append_string (&line, &length, alert->regions);
    rc |= sq_json_appendf (&line, &length, ",\"at\":\"%s\",\"site_id\":%llu}", at,
                           (unsigned long long) alert->site_id);
    if (rc) {
        free (line);
        return NULL;
    }
    return line;
}
