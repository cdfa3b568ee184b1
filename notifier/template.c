/*  template.c: webhook body templates (see template.h).

    Placeholders, each filled from the newest notice of the message:
      {{id}}        notice ids, comma-separated
      {{kind}}      alert, reminder, flapping, settled, maintenance_over, cert
      {{url}}       the site's URL, userinfo and query values elided
      {{state}}     up, down, ...           {{previous}}  the state before
      {{reason}}    timeout, dns, ...       {{detail}}    short text
      {{since}}     ISO 8601 time the state began
      {{http_status}}  status of the deciding check, 0 if none
      {{owner}}     the owner's name        {{count}}     notices in the message
      {{subject}}   the one-line subject    {{summary}}   the plain-text body
*/
#include "template.h"
#include "render.h"
#include "sq_json.h"
#include "sq_url.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const s_names [] = {
    "id", "kind", "url", "state", "previous", "reason", "detail", "since", "http_status",
    "owner", "count", "subject", "summary"
};
#define S_NAME_COUNT (sizeof (s_names) / sizeof (s_names [0]))
#define S_NAME_MAX   16

//  The placeholder's index for the name at text [0..length), or -1.
static int
s_name_index (const char *text, size_t length)
{
    for (size_t index = 0; index < S_NAME_COUNT; index++)
        if (strlen (s_names [index]) == length && memcmp (s_names [index], text, length) == 0)
            return (int) index;
    return -1;
}

int
template_check (const char *text, size_t *error_at, char *why, size_t why_size)
{
    const char *at = text;
    while ((at = strstr (at, "{{"))) {
        const char *end = strstr (at + 2, "}}");
        if (!end) {
            *error_at = (size_t) (at - text);
            snprintf (why, why_size, "'{{' without a closing '}}'");
            return -1;
        }
        //  Spaces inside the braces are allowed: {{ url }}.
        const char *name = at + 2;
        while (name < end && *name == ' ')
            name++;
        const char *name_end = end;
        while (name_end > name && name_end [-1] == ' ')
            name_end--;
        if (s_name_index (name, (size_t) (name_end - name)) < 0) {
            *error_at = (size_t) (at - text);
            snprintf (why, why_size, "unknown placeholder {{%.*s}}: expected one of id, kind, "
                      "url, state, previous, reason, detail, since, http_status, owner, count, "
                      "subject, summary", (int) (name_end - name > 32 ? 32 : name_end - name), name);
            return -1;
        }
        at = end + 2;
    }
    return 0;
}

//  The value of placeholder index for the message, unescaped.  Caller frees.
static char *
s_value (int index, const notice_t *const *notices, size_t count)
{
    const notice_t *newest = notices [count - 1];
    const sq_alert_t *alert = &newest->alert;
    char buffer [SQ_URL_MAX + 64];
    switch (index) {
        case 0: {
            char *ids = NULL;
            size_t length = 0;
            for (size_t item = 0; item < count; item++)
                if (sq_json_appendf (&ids, &length, "%s%" PRIu64, item ? "," : "",
                                     notices [item]->id)) {
                    free (ids);
                    return NULL;
                }
            return ids;
        }
        case 1: return strdup (notice_kind_name (newest->kind));
        case 2:
            sq_url_shown (alert->url, buffer, sizeof (buffer));
            return strdup (buffer);
        case 3: return strdup (sq_state_name ((sq_state_t) alert->state));
        case 4: return strdup (sq_state_name ((sq_state_t) alert->previous));
        case 5: return strdup (sq_reason_name ((sq_reason_t) alert->reason));
        case 6: return strdup (alert->detail);
        case 7:
            sq_time_iso (alert->since, buffer, sizeof (buffer));
            return strdup (buffer);
        case 8:
            snprintf (buffer, sizeof (buffer), "%u", (unsigned) alert->http_status);
            return strdup (buffer);
        case 9: return strdup (newest->owner);
        case 10:
            snprintf (buffer, sizeof (buffer), "%zu", count);
            return strdup (buffer);
        case 11: return render_subject (notices, count);
        case 12: return render_text (notices, count);
        default: return NULL;
    }
}

//  Append value escaped as the inside of a JSON string.
static int
s_append_escaped (char **body, size_t *length, const char *value)
{
    char *quoted = NULL;
    size_t quoted_length = 0;
    if (sq_json_append_string (&quoted, &quoted_length, value))
        return -1;
    //  Without the quotes sq_json put around it.
    int rc = sq_json_appendf (body, length, "%.*s", (int) (quoted_length - 2), quoted + 1);
    free (quoted);
    return rc;
}

char *
template_expand (const char *text, const notice_t *const *notices, size_t count)
{
    size_t error_at;
    char why [256];
    if (count == 0 || template_check (text, &error_at, why, sizeof (why)))
        return NULL;
    char *body = NULL;
    size_t length = 0;
    int rc = sq_json_appendf (&body, &length, "%s", "");
    const char *at = text;
    const char *open;
    while (rc == 0 && (open = strstr (at, "{{"))) {
        rc |= sq_json_appendf (&body, &length, "%.*s", (int) (open - at), at);
        const char *end = strstr (open + 2, "}}");
        const char *name = open + 2;
        while (name < end && *name == ' ')
            name++;
        const char *name_end = end;
        while (name_end > name && name_end [-1] == ' ')
            name_end--;
        char *value = s_value (s_name_index (name, (size_t) (name_end - name)), notices, count);
        rc |= value ? s_append_escaped (&body, &length, value) : -1;
        free (value);
        at = end + 2;
    }
    rc |= sq_json_appendf (&body, &length, "%s", at);
    if (rc) {
        free (body);
        return NULL;
    }
    return body;
}
