/*  render.c: the words and formats of a notification (see render.h).

    Pure code: no I/O, no clock.  Every output is built in one growing
    buffer (buffer_t, render_private.h); an append that runs out of
    memory marks the buffer failed and the function returns NULL, so the
    many appends need no check each.

    What reaches an output from outside is the site's URL (shown through
    sq_url_shown), the server's error text (detail) and the owner's name.
    Each is cleaned before use (render_clean): bytes that are not valid UTF-8
    become '?', and in anything shown on one line (subjects, text lines,
    environment values) every control character, C0, DEL, C1 and the
    Unicode line separators, becomes a space.  So a subject holds no CR or
    LF whatever a server answers, and no header can be injected into a
    mail through it.  JSON keeps a detail's newlines (escaped): it is data.

    One site's notices read as one story (its history, then its newest
    state in full); several sites read as a digest, one line per site by
    its newest notice, sites in the order they first appear.
*/
#include "render.h"
#include "render_private.h"
#include "sq_json.h"
#include "sq_url.h"

#include <assert.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

//  One site of a message.
typedef struct {
    uint64_t site_id;           //  the site
    size_t first;               //  index of its first notice in the message
    size_t newest;              //  index of its newest (last) notice
    size_t count;               //  its notices in the message
} site_t;

//  Longest detail text in a subject or a digest line: the whole text is in
//  the body and the JSON; a subject is for reading at a glance.
#define S_SUBJECT_DETAIL_MAX    100
#define S_PATH                  "PATH=/usr/local/bin:/usr/bin:/bin"


//  --------------------------------------------------------------------------
//  Buffers and text cleaning

void
render_append (buffer_t *buffer, const char *data, size_t size)
{
    BUFFER_PRINTF (buffer, "%.*s", (int) size, data);
}

//  The buffer's text, or NULL if an append failed.  Caller frees.
char *
render_finish (buffer_t *buffer)
{
    if (!buffer->failed && !buffer->data)
        BUFFER_PRINTF (buffer, "%s", "");
    if (buffer->failed) {
        free (buffer->data);
        return NULL;
    }
    return buffer->data;
}

//  Length of the valid UTF-8 character at text [0..left), with its code
//  point in *point; 0 if the bytes there are not one (overlong forms,
//  surrogates and values past U+10FFFF are not).
static size_t
s_utf8_length (const unsigned char *text, size_t left, uint32_t *point)
{
    unsigned char lead = text [0];
    size_t length;
    uint32_t minimum;
    if (lead < 0x80) {
        *point = lead;
        return 1;
    }
    if (lead >= 0xC2 && lead <= 0xDF)
        length = 2, minimum = 0x80;
    else
    if (lead >= 0xE0 && lead <= 0xEF)
        length = 3, minimum = 0x800;
    else
    if (lead >= 0xF0 && lead <= 0xF4)
        length = 4, minimum = 0x10000;
    else
        return 0;
    if (length > left)
        return 0;
    uint32_t value = lead & (0x7F >> length);
    for (size_t index = 1; index < length; index++) {
        if ((text [index] & 0xC0) != 0x80)
            return 0;
        value = (value << 6) | (text [index] & 0x3F);
    }
    if (value < minimum || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF))
        return 0;
    *point = value;
    return length;
}

//  Clean text in place (it never grows): invalid UTF-8 bytes become '?';
//  when one_line, every control character becomes a space.
void
render_clean (char *text, bool one_line)
{
    unsigned char *read = (unsigned char *) text;
    unsigned char *write = read;
    size_t left = strlen (text);
    while (left) {
        uint32_t point;
        size_t length = s_utf8_length (read, left, &point);
        if (length == 0) {
            *write++ = '?';
            length = 1;
        }
        else
        if (one_line && (point < 0x20 || (point >= 0x7F && point <= 0x9F)
                         || point == 0x2028 || point == 0x2029))
            *write++ = ' ';
        else {
            memmove (write, read, length);
            write += length;
        }
        read += length;
        left -= length;
    }
    *write = '\0';
}

//  The longest prefix of text [0..size) no longer than limit that does not
//  split a UTF-8 sequence.
size_t
render_utf8_cut (const char *text, size_t size, size_t limit)
{
    if (size <= limit)
        return size;
    size_t cut = limit;
    while (cut > 0 && ((unsigned char) text [cut] & 0xC0) == 0x80)
        cut--;
    return cut;
}

//  The notice's URL as shown, one clean line.
static void
s_url (const notice_t *notice, char *out, size_t out_size)
{
    sq_url_shown (notice->alert.url, out, out_size);
    render_clean (out, true);
}

//  The notice's detail, one clean line, at most limit bytes ("" if none).
static void
s_detail (const notice_t *notice, size_t limit, char *out, size_t out_size)
{
    const char *detail = notice->alert.detail;
    size_t size = strnlen (detail, sizeof (notice->alert.detail));
    if (size > out_size - 1)
        size = out_size - 1;
    memcpy (out, detail, size);
    out [size] = '\0';
    render_clean (out, true);
    out [render_utf8_cut (out, strlen (out), limit)] = '\0';
}

//  ISO 8601 of a unix-µs time; before 1970 shows as 1970.
static void
s_iso (int64_t unix_us, char *out, size_t out_size)
{
    sq_time_iso (unix_us > 0 ? unix_us : 0, out, out_size);
}

//  ISO 8601 of a unix-seconds time (a certificate's end).
static void
s_iso_seconds (int64_t unix_s, char *out, size_t out_size)
{
    int64_t most = INT64_MAX / 1000000;
    s_iso ((unix_s > most ? most : unix_s) * 1000000, out, out_size);
}

static const char *
s_state (uint8_t state)
{
    return sq_state_name ((sq_state_t) state);
}

static const char *
s_reason (uint8_t reason)
{
    return sq_reason_name ((sq_reason_t) reason);
}


//  --------------------------------------------------------------------------
//  Sites of a message

static int
s_compare_entries (const void *left_p, const void *right_p)
{
    const site_t *left = left_p, *right = right_p;
    if (left->site_id != right->site_id)
        return left->site_id < right->site_id ? -1 : 1;
    return left->first < right->first ? -1 : left->first > right->first;
}

static int
s_compare_first (const void *left_p, const void *right_p)
{
    const site_t *left = left_p, *right = right_p;
    return left->first < right->first ? -1 : left->first > right->first;
}

//  The sites of notices [0..count), in the order they first appear, in
//  *site_count.  NULL if out of memory.  Caller frees.
//  Sorting by site keeps a 5000-notice digest at n log n, not n squared.
static site_t *
s_sites (const notice_t *const *notices, size_t count, size_t *site_count)
{
    site_t *entries = calloc (count, sizeof (site_t));
    if (!entries)
        return NULL;
    for (size_t index = 0; index < count; index++)
        entries [index] = (site_t) { notices [index]->alert.site_id, index, index, 1 };
    qsort (entries, count, sizeof (site_t), s_compare_entries);
    size_t sites = 0;
    for (size_t index = 0; index < count; index++) {
        if (sites && entries [sites - 1].site_id == entries [index].site_id) {
            entries [sites - 1].newest = entries [index].first;
            entries [sites - 1].count++;
        }
        else
            entries [sites++] = entries [index];
    }
    qsort (entries, sites, sizeof (site_t), s_compare_first);
    *site_count = sites;
    return entries;
}


//  --------------------------------------------------------------------------
//  Words

//  "timeout", "http_status 503", then ": detail" (cut) when there is one.
static void
s_reason_words (buffer_t *buffer, const notice_t *notice)
{
    const sq_alert_t *alert = &notice->alert;
    char detail [SQ_TEXT_MAX + 1];
    s_detail (notice, S_SUBJECT_DETAIL_MAX, detail, sizeof (detail));
    BUFFER_PRINTF (buffer, "%s", s_reason (alert->reason));
    if (alert->reason == SQ_REASON_HTTP_STATUS && alert->http_status)
        BUFFER_PRINTF (buffer, " %u", (unsigned) alert->http_status);
    if (*detail)
        BUFFER_PRINTF (buffer, ": %s", detail);
}

//  How long an UP alert's site was down, into out; false if unknown.
static bool
s_down_for (const sq_alert_t *alert, char *out, size_t out_size)
{
    if (alert->state != SQ_STATE_UP || alert->previous != SQ_STATE_DOWN
    ||  alert->previous_since <= 0 || alert->since < alert->previous_since)
        return false;
    render_duration (alert->since - alert->previous_since, out, out_size);
    return true;
}

//  The headline of one notice: its subject when alone, a digest's line.
//  down_reason, when not NULL, is the notice that took an UP site down.
static void
s_headline (buffer_t *buffer, const notice_t *notice, const notice_t *down_reason)
{
    const sq_alert_t *alert = &notice->alert;
    char url [SQ_URL_MAX + 1];
    char words [64];
    s_url (notice, url, sizeof (url));
    switch (notice->kind) {
        case NOTICE_ALERT: {
            char tag [32];
            snprintf (tag, sizeof (tag), "%s", s_state (alert->state));
            for (char *letter = tag; *letter; letter++)
                if (*letter >= 'a' && *letter <= 'z')
                    *letter = (char) (*letter - 'a' + 'A');
            BUFFER_PRINTF (buffer, "[%s] %s", tag, url);
            if (s_down_for (alert, words, sizeof (words))) {
                BUFFER_PRINTF (buffer, " (was down %s", words);
                if (down_reason) {
                    BUFFER_PRINTF (buffer, ": ");
                    s_reason_words (buffer, down_reason);
                }
                BUFFER_PRINTF (buffer, ")");
            }
            else
            if (alert->state != SQ_STATE_UP || alert->reason != SQ_REASON_OK) {
                BUFFER_PRINTF (buffer, " (");
                s_reason_words (buffer, notice);
                BUFFER_PRINTF (buffer, ")");
            }
            break;
        }
        case NOTICE_REMINDER:
            s_iso (alert->since, words, sizeof (words));
            BUFFER_PRINTF (buffer, "[REMINDER] %s still down since %s (", url, words);
            s_reason_words (buffer, notice);
            BUFFER_PRINTF (buffer, ")");
            break;
        case NOTICE_FLAPPING:
            render_duration ((int64_t) notice->window_ms * 1000, words, sizeof (words));
            BUFFER_PRINTF (buffer, "[FLAPPING] %s changed state %" PRIu32 " times in %s", url,
                           notice->changes, words);
            break;
        case NOTICE_SETTLED:
            BUFFER_PRINTF (buffer, "[SETTLED] %s stopped flapping, now %s", url,
                           s_state (alert->state));
            break;
        case NOTICE_MAINTENANCE_OVER:
            BUFFER_PRINTF (buffer, "[MAINTENANCE OVER] %s is %s", url, s_state (alert->state));
            break;
        case NOTICE_CERT:
            if (notice->days_left > 1)
                BUFFER_PRINTF (buffer, "[CERT] %s certificate expires in %" PRId32 " days", url,
                               notice->days_left);
            else
            if (notice->days_left == 1)
                BUFFER_PRINTF (buffer, "[CERT] %s certificate expires in 1 day", url);
            else
            if (notice->days_left == 0)
                BUFFER_PRINTF (buffer, "[CERT] %s certificate expires today", url);
            else
                BUFFER_PRINTF (buffer, "[CERT] %s certificate expired", url);
            break;
        default:
            BUFFER_PRINTF (buffer, "[%s] %s", notice_kind_name (notice->kind), url);
            break;
    }
}

//  Which count of a digest's summary a site's newest notice falls in.
typedef enum {
    S_COUNT_DOWN,               //  its state is down (alerts, reminders, ...)
    S_COUNT_UP,                 //  its state is up
    S_COUNT_FLAPPING,           //  it is flapping
    S_COUNT_CERT,               //  its certificate expires soon
    S_COUNT_OTHER,              //  suspect or unknown: should not be told, but is counted
    S_COUNT_TOTAL
} s_count_t;

static s_count_t
s_count_of (const notice_t *notice)
{
    if (notice->kind == NOTICE_FLAPPING)
        return S_COUNT_FLAPPING;
    if (notice->kind == NOTICE_CERT)
        return S_COUNT_CERT;
    if (notice->alert.state == SQ_STATE_DOWN)
        return S_COUNT_DOWN;
    if (notice->alert.state == SQ_STATE_UP)
        return S_COUNT_UP;
    return S_COUNT_OTHER;
}

//  "N changes: X down, Y up", then flapping, cert and other when not 0.
//  N counts sites, each by its newest notice, so the parts add up to N.
static void
s_summary (buffer_t *buffer, const notice_t *const *notices, const site_t *sites,
           size_t site_count)
{
    size_t counts [S_COUNT_TOTAL] = { 0 };
    for (size_t site = 0; site < site_count; site++)
        counts [s_count_of (notices [sites [site].newest])]++;
    BUFFER_PRINTF (buffer, "%zu changes: %zu down, %zu up", site_count,
                   counts [S_COUNT_DOWN], counts [S_COUNT_UP]);
    if (counts [S_COUNT_FLAPPING])
        BUFFER_PRINTF (buffer, ", %zu flapping", counts [S_COUNT_FLAPPING]);
    if (counts [S_COUNT_CERT])
        BUFFER_PRINTF (buffer, ", %zu cert", counts [S_COUNT_CERT]);
    if (counts [S_COUNT_OTHER])
        BUFFER_PRINTF (buffer, ", %zu other", counts [S_COUNT_OTHER]);
}

//  The ids of the notices after prefix, separator ", " (or "," when
//  compact), wrapped before width columns onto line_end + indent lines
//  (width 0: one line).
void
render_ids (buffer_t *buffer, const notice_t *const *notices, size_t count, const char *prefix,
       bool compact, size_t width, const char *line_end, const char *indent)
{
    BUFFER_PRINTF (buffer, "%s", prefix);
    size_t column = strlen (prefix);
    for (size_t index = 0; index < count; index++) {
        char number [24];
        int size = snprintf (number, sizeof (number), "%" PRIu64, notices [index]->id);
        if (index == 0)
            ;
        else
        if (width && column + 2 + (size_t) size > width) {
            BUFFER_PRINTF (buffer, ",%s%s", line_end, indent);
            column = strlen (indent);
        }
        else {
            BUFFER_PRINTF (buffer, "%s", compact ? "," : ", ");
            column += compact ? 1 : 2;
        }
        BUFFER_PRINTF (buffer, "%s", number);
        column += (size_t) size;
    }
}

//  A phase's time in ms, "-" when the check never reached it.
static void
s_phase (buffer_t *buffer, const char *name, uint64_t us, bool last)
{
    if (us)
        BUFFER_PRINTF (buffer, "%s %" PRIu64 ".%03u%s", name, us / 1000, (unsigned) (us % 1000),
                       last ? "" : ", ");
    else
        BUFFER_PRINTF (buffer, "%s -%s", name, last ? "" : ", ");
}

//  One line of a site's history: notices [index], within [first..count).
//  A DOWN alert followed by an alert that ends it reads "down from T1 to
//  T2 (3m12s): reason", and that second alert needs no line of its own.
static void
s_history_line (buffer_t *buffer, const notice_t *const *notices, size_t count, size_t index,
                bool *skip)
{
    const notice_t *notice = notices [index];
    const sq_alert_t *alert = &notice->alert;
    char since [32], at [32], words [32];
    s_iso (alert->since, since, sizeof (since));
    s_iso (notice->at_us, at, sizeof (at));
    if (notice->kind == NOTICE_ALERT && alert->state == SQ_STATE_DOWN) {
        size_t next = index + 1;
        while (next < count && notices [next]->kind != NOTICE_ALERT)
            next++;
        if (next < count && notices [next]->alert.state != SQ_STATE_DOWN) {
            const sq_alert_t *end = &notices [next]->alert;
            char until [32];
            s_iso (end->since, until, sizeof (until));
            render_duration (end->since - alert->since, words, sizeof (words));
            BUFFER_PRINTF (buffer, "down from %s to %s (%s): ", since, until, words);
            skip [next] = true;
        }
        else
            BUFFER_PRINTF (buffer, "down since %s: ", since);
        s_reason_words (buffer, notice);
    }
    else
    if (notice->kind == NOTICE_ALERT) {
        BUFFER_PRINTF (buffer, "%s since %s", s_state (alert->state), since);
        if (s_down_for (alert, words, sizeof (words)))
            BUFFER_PRINTF (buffer, " (was down %s)", words);
    }
    else
    if (notice->kind == NOTICE_REMINDER)
        BUFFER_PRINTF (buffer, "reminder at %s: still down since %s", at, since);
    else
    if (notice->kind == NOTICE_FLAPPING) {
        render_duration ((int64_t) notice->window_ms * 1000, words, sizeof (words));
        BUFFER_PRINTF (buffer, "flapping at %s: %" PRIu32 " changes in %s", at, notice->changes,
                       words);
    }
    else
    if (notice->kind == NOTICE_SETTLED)
        BUFFER_PRINTF (buffer, "settled at %s: %s", at, s_state (alert->state));
    else
    if (notice->kind == NOTICE_MAINTENANCE_OVER)
        BUFFER_PRINTF (buffer, "maintenance over at %s: %s", at, s_state (alert->state));
    else
    if (notice->kind == NOTICE_CERT)
        BUFFER_PRINTF (buffer, "certificate warning at %s: %" PRId32 " days left", at,
                       notice->days_left);
    BUFFER_PRINTF (buffer, "\n");
}

//  The body of one site's notices: its history when there are several,
//  then its newest notice in full.
static void
s_site_text (buffer_t *buffer, const notice_t *const *notices, size_t count)
{
    if (count > 1) {
        bool *skip = calloc (count, sizeof (bool));
        if (!skip) {
            buffer->failed = true;
            return;
        }
        for (size_t index = 0; index < count; index++)
            if (!skip [index])
                s_history_line (buffer, notices, count, index, skip);
        free (skip);
        BUFFER_PRINTF (buffer, "\n");
    }
    const notice_t *newest = notices [count - 1];
    const sq_alert_t *alert = &newest->alert;
    char url [SQ_URL_MAX + 1], detail [SQ_TEXT_MAX + 1], since [32], words [32];
    s_url (newest, url, sizeof (url));
    s_detail (newest, SQ_TEXT_MAX, detail, sizeof (detail));
    s_iso (alert->since, since, sizeof (since));
    BUFFER_PRINTF (buffer, "url: %s\nstate: %s\nprevious: %s\nreason: %s\ndetail: %s\n"
                   "since: %s\n", url, s_state (alert->state), s_state (alert->previous),
                   s_reason (alert->reason), *detail ? detail : "-", since);
    if (alert->http_status)
        BUFFER_PRINTF (buffer, "http status: %u\n", (unsigned) alert->http_status);
    else
        BUFFER_PRINTF (buffer, "http status: none\n");
    if (alert->regions [0]) {
        char regions [SQ_REGION_LIST_MAX + 1];
        snprintf (regions, sizeof (regions), "%s", alert->regions);
        render_clean (regions, true);
        BUFFER_PRINTF (buffer, "down in: %s\n", regions);
    }
    BUFFER_PRINTF (buffer, "timings (ms): ");
    s_phase (buffer, "dns", alert->dns_us, false);
    s_phase (buffer, "connect", alert->connect_us, false);
    s_phase (buffer, "tls", alert->tls_us, false);
    s_phase (buffer, "ttfb", alert->ttfb_us, false);
    s_phase (buffer, "total", alert->total_us, true);
    BUFFER_PRINTF (buffer, "\n");
    if (s_down_for (alert, words, sizeof (words))) {
        char from [32];
        s_iso (alert->previous_since, from, sizeof (from));
        BUFFER_PRINTF (buffer, "down for: %s (from %s)\n", words, from);
    }
    if (newest->kind == NOTICE_REMINDER && newest->at_us >= alert->since) {
        render_duration (newest->at_us - alert->since, words, sizeof (words));
        BUFFER_PRINTF (buffer, "down for: %s so far\n", words);
    }
    if (newest->kind == NOTICE_FLAPPING) {
        render_duration ((int64_t) newest->window_ms * 1000, words, sizeof (words));
        BUFFER_PRINTF (buffer, "flapping: %" PRIu32 " changes in %s\n", newest->changes, words);
    }
    if (newest->kind == NOTICE_CERT) {
        char expiry [32];
        s_iso_seconds (newest->cert_expiry, expiry, sizeof (expiry));
        BUFFER_PRINTF (buffer, "certificate expires: %s (%" PRId32 " days left)\n", expiry,
                       newest->days_left);
    }
}

//  One digest line: the site's newest notice, when, and what came before
//  it in this message when that says more (the reason it was down).
static void
s_site_line (buffer_t *buffer, const notice_t *const *notices, const site_t *site)
{
    const notice_t *newest = notices [site->newest];
    const notice_t *down = NULL;
    if (newest->kind == NOTICE_ALERT && newest->alert.state == SQ_STATE_UP)
        for (size_t index = site->newest; !down && index-- > site->first; )
            if (notices [index]->alert.site_id == site->site_id
            &&  notices [index]->kind == NOTICE_ALERT
            &&  notices [index]->alert.state == SQ_STATE_DOWN)
                down = notices [index];
    s_headline (buffer, newest, down);
    char when [32];
    if (newest->kind == NOTICE_CERT) {
        s_iso_seconds (newest->cert_expiry, when, sizeof (when));
        BUFFER_PRINTF (buffer, " (%s)", when);
    }
    else
    if (newest->kind == NOTICE_FLAPPING) {
        s_iso (newest->at_us, when, sizeof (when));
        BUFFER_PRINTF (buffer, " at %s", when);
    }
    else
    if (newest->kind != NOTICE_REMINDER) {
        s_iso (newest->alert.since, when, sizeof (when));
        BUFFER_PRINTF (buffer, " since %s", when);
    }
    if (site->count > 1 && !down)
        BUFFER_PRINTF (buffer, " [%zu notices]", site->count);
    BUFFER_PRINTF (buffer, "\n");
}

//  The text of a message: one site's story, or a digest (its summary line
//  unless chat, where the subject above it says the same) of at most
//  lines_max site lines then "... and N more"; the ids last unless
//  with_ids is false.
static void
s_text (buffer_t *buffer, const notice_t *const *notices, size_t count, const site_t *sites,
        size_t site_count, size_t lines_max, bool with_ids, bool chat)
{
    if (site_count == 1)
        s_site_text (buffer, notices, count);
    else {
        if (!chat) {
            s_summary (buffer, notices, sites, site_count);
            BUFFER_PRINTF (buffer, "\n");
        }
        size_t shown = site_count < lines_max ? site_count : lines_max;
        for (size_t site = 0; site < shown; site++)
            s_site_line (buffer, notices, &sites [site]);
        if (shown < site_count)
            BUFFER_PRINTF (buffer, "... and %zu more\n", site_count - shown);
    }
    if (with_ids) {
        render_ids (buffer, notices, count, count > 1 ? "ids: " : "id: ", false, RENDER_WRAP_WIDTH, "\n",
               "     ");
        BUFFER_PRINTF (buffer, "\n");
    }
}

//  The subject of a message into buffer.
static void
s_subject (buffer_t *buffer, const notice_t *const *notices, size_t count, const site_t *sites,
           size_t site_count)
{
    size_t start = buffer->length;
    if (site_count == 1)
        s_headline (buffer, notices [count - 1], NULL);
    else {
        BUFFER_PRINTF (buffer, "[squirrel] ");
        s_summary (buffer, notices, sites, site_count);
    }
    //  Its pieces are clean already; this pass makes "no control character
    //  in a subject" true by construction, whatever is added above later.
    if (!buffer->failed) {
        render_clean (buffer->data + start, true);
        buffer->length = start + strlen (buffer->data + start);
    }
}

char *
render_subject (const notice_t *const *notices, size_t count)
{
    assert (notices && count);
    size_t site_count;
    site_t *sites = s_sites (notices, count, &site_count);
    if (!sites)
        return NULL;
    buffer_t buffer = { 0 };
    s_subject (&buffer, notices, count, sites, site_count);
    free (sites);
    return render_finish (&buffer);
}

char *
render_text (const notice_t *const *notices, size_t count)
{
    assert (notices && count);
    size_t site_count;
    site_t *sites = s_sites (notices, count, &site_count);
    if (!sites)
        return NULL;
    buffer_t buffer = { 0 };
    s_text (&buffer, notices, count, sites, site_count, RENDER_EMAIL_LINES_MAX, true, false);
    free (sites);
    return render_finish (&buffer);
}

void
render_duration (int64_t us, char *out, size_t out_size)
{
    static const struct {
        int64_t seconds;        //  size of the unit
        char name;              //  its letter
    } units [] = { { 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' } };
    int64_t seconds = us > 0 ? us / 1000000 : 0;
    size_t unit = 0;
    while (unit < 3 && seconds < units [unit].seconds)
        unit++;
    int64_t large = seconds / units [unit].seconds;
    int64_t small = unit < 3 ? seconds % units [unit].seconds / units [unit + 1].seconds : 0;
    if (small)
        snprintf (out, out_size, "%" PRId64 "%c%" PRId64 "%c", large, units [unit].name, small,
                  units [unit + 1].name);
    else
        snprintf (out, out_size, "%" PRId64 "%c", large, units [unit].name);
}


//  --------------------------------------------------------------------------
//  JSON: the generic webhook, Slack, Discord

static void
s_json_string (buffer_t *buffer, const char *text)
{
    buffer->failed |= sq_json_append_string (&buffer->data, &buffer->length, text) != 0;
}

//  text as a JSON string after making it valid UTF-8 (a server's detail
//  may not be, and JSON must be).
static void
s_json_clean_string (buffer_t *buffer, const char *text, size_t size_max)
{
    char *copy = strndup (text, size_max);
    if (!copy) {
        buffer->failed = true;
        return;
    }
    render_clean (copy, false);
    s_json_string (buffer, copy);
    free (copy);
}

static void
s_json_time (buffer_t *buffer, const char *name, int64_t unix_us)
{
    char when [32];
    s_iso (unix_us, when, sizeof (when));
    BUFFER_PRINTF (buffer, ",\"%s\":\"%s\"", name, when);
}

static void
s_json_ms (buffer_t *buffer, const char *name, uint64_t us, bool last)
{
    BUFFER_PRINTF (buffer, "\"%s\":%" PRIu64 ".%03u%s", name, us / 1000, (unsigned) (us % 1000),
                   last ? "" : ",");
}

static void
s_json_owner (buffer_t *buffer, const notice_t *notice)
{
    if (*notice->owner)
        s_json_clean_string (buffer, notice->owner, sizeof (notice->owner));
    else
        BUFFER_PRINTF (buffer, "null");
}

static void
s_json_notice (buffer_t *buffer, const notice_t *notice)
{
    const sq_alert_t *alert = &notice->alert;
    char url [SQ_URL_MAX + 1];
    s_url (notice, url, sizeof (url));
    BUFFER_PRINTF (buffer, "{\"id\":%" PRIu64 ",\"kind\":\"%s\",\"seq\":%" PRIu64
                   ",\"site_id\":%" PRIu64 ",\"url\":", notice->id,
                   notice_kind_name (notice->kind), alert->seq, alert->site_id);
    s_json_string (buffer, url);
    BUFFER_PRINTF (buffer, ",\"state\":\"%s\",\"previous\":\"%s\",\"reason\":\"%s\",\"detail\":",
                   s_state (alert->state), s_state (alert->previous), s_reason (alert->reason));
    s_json_clean_string (buffer, alert->detail, sizeof (alert->detail));
    s_json_time (buffer, "at", notice->at_us);
    s_json_time (buffer, "since", alert->since);
    if (alert->previous_since > 0)
        s_json_time (buffer, "previous_since", alert->previous_since);
    else
        BUFFER_PRINTF (buffer, ",\"previous_since\":null");
    BUFFER_PRINTF (buffer, ",\"http_status\":%u,\"timings_ms\":{", (unsigned) alert->http_status);
    s_json_ms (buffer, "dns", alert->dns_us, false);
    s_json_ms (buffer, "connect", alert->connect_us, false);
    s_json_ms (buffer, "tls", alert->tls_us, false);
    s_json_ms (buffer, "ttfb", alert->ttfb_us, false);
    s_json_ms (buffer, "total", alert->total_us, true);
    BUFFER_PRINTF (buffer, "},\"regions\":");
    s_json_clean_string (buffer, alert->regions, sizeof (alert->regions));
    BUFFER_PRINTF (buffer, ",\"owner\":");
    s_json_owner (buffer, notice);
    if (notice->kind == NOTICE_FLAPPING)
        BUFFER_PRINTF (buffer, ",\"changes\":%" PRIu32 ",\"window_ms\":%" PRIu32,
                       notice->changes, notice->window_ms);
    if (notice->kind == NOTICE_CERT) {
        char expiry [32];
        s_iso_seconds (notice->cert_expiry, expiry, sizeof (expiry));
        BUFFER_PRINTF (buffer, ",\"cert_expiry\":\"%s\",\"days_left\":%" PRId32, expiry,
                       notice->days_left);
    }
    BUFFER_PRINTF (buffer, "}");
}

char *
render_webhook_json (const notice_t *const *notices, size_t count)
{
    assert (notices && count);
    buffer_t buffer = { 0 };
    if (count == 1)
        s_json_notice (&buffer, notices [0]);
    else {
        BUFFER_PRINTF (&buffer, "{\"digest\":true,\"owner\":");
        s_json_owner (&buffer, notices [count - 1]);
        BUFFER_PRINTF (&buffer, ",\"count\":%zu,\"alerts\":[", count);
        for (size_t index = 0; index < count; index++) {
            if (index)
                BUFFER_PRINTF (&buffer, ",");
            s_json_notice (&buffer, notices [index]);
        }
        BUFFER_PRINTF (&buffer, "]}");
    }
    return render_finish (&buffer);
}

//  A chat message's text: the subject, a newline, the text with at most
//  lines_max site lines, no newline at the end.
static void
s_chat (buffer_t *buffer, const notice_t *const *notices, size_t count, const site_t *sites,
        size_t site_count, size_t lines_max, bool with_ids)
{
    s_subject (buffer, notices, count, sites, site_count);
    BUFFER_PRINTF (buffer, "\n");
    s_text (buffer, notices, count, sites, site_count, lines_max, with_ids, true);
    if (!buffer->failed && buffer->length && buffer->data [buffer->length - 1] == '\n')
        buffer->data [--buffer->length] = '\0';
}

char *
render_slack_json (const notice_t *const *notices, size_t count)
{
    assert (notices && count);
    size_t site_count;
    site_t *sites = s_sites (notices, count, &site_count);
    if (!sites)
        return NULL;
    buffer_t chat = { 0 };
    s_chat (&chat, notices, count, sites, site_count, RENDER_CHAT_LINES_MAX, true);
    free (sites);
    char *text = render_finish (&chat);
    if (!text)
        return NULL;
    //  Slack reads &, < and > as markup (<!channel> pings everyone): the
    //  three are escaped as its documentation asks.
    buffer_t escaped = { 0 };
    for (const char *at = text; *at; at++) {
        size_t run = strcspn (at, "&<>");
        render_append (&escaped, at, run);
        at += run;
        if (!*at)
            break;
        BUFFER_PRINTF (&escaped, "%s", *at == '&' ? "&amp;" : *at == '<' ? "&lt;" : "&gt;");
    }
    free (text);
    text = render_finish (&escaped);
    if (!text)
        return NULL;
    buffer_t buffer = { 0 };
    BUFFER_PRINTF (&buffer, "{\"text\":");
    s_json_string (&buffer, text);
    BUFFER_PRINTF (&buffer, "}");
    free (text);
    return render_finish (&buffer);
}

//  Cut content (a finished buffer) to at most limit bytes: whole lines,
//  then "... and N more" for the N lines not shown whole.  A first line
//  longer than the limit (a 2 KB URL) is cut inside, at a character.
static void
s_cut_lines (buffer_t *buffer, size_t limit)
{
    if (buffer->failed || buffer->length <= limit)
        return;
    size_t lines = 1;
    for (size_t index = 0; index < buffer->length; index++)
        lines += buffer->data [index] == '\n';
    size_t kept = 0, kept_lines = 0;
    char trailer [64];
    while (true) {
        const char *end = memchr (buffer->data + kept, '\n', buffer->length - kept);
        if (!end)
            break;
        size_t next = (size_t) (end - buffer->data) + 1;
        int size = snprintf (trailer, sizeof (trailer), "... and %zu more", lines - kept_lines - 1);
        if (next + (size_t) size > limit)
            break;
        kept = next;
        kept_lines++;
    }
    int size = snprintf (trailer, sizeof (trailer), "... and %zu more", lines - kept_lines);
    if (kept == 0) {
        //  Not even one line fits: the first one, cut, then the trailer.
        kept = render_utf8_cut (buffer->data, buffer->length, limit - (size_t) size - 1);
        buffer->data [kept++] = '\n';
    }
    memcpy (buffer->data + kept, trailer, (size_t) size + 1);
    buffer->length = kept + (size_t) size;
}

char *
render_discord_json (const notice_t *const *notices, size_t count)
{
    assert (notices && count);
    size_t site_count;
    site_t *sites = s_sites (notices, count, &site_count);
    if (!sites)
        return NULL;
    //  A digest too long for Discord loses its ids line (the JSON webhook
    //  has them), then site lines from the end, until it fits; the count in
    //  "... and N more" stays right because s_text writes it.  Anything
    //  still too long (one site, a huge URL) is cut by lines.
    size_t lines_max = site_count < RENDER_CHAT_LINES_MAX ? site_count : RENDER_CHAT_LINES_MAX;
    bool with_ids = true;
    buffer_t chat = { 0 };
    while (true) {
        s_chat (&chat, notices, count, sites, site_count, lines_max, with_ids);
        if (chat.failed || chat.length <= RENDER_DISCORD_MAX || site_count == 1
        ||  (lines_max == 0 && !with_ids))
            break;
        if (with_ids)
            with_ids = false;
        else
            lines_max--;
        chat.length = 0;
    }
    free (sites);
    s_cut_lines (&chat, RENDER_DISCORD_MAX);
    char *content = render_finish (&chat);
    if (!content)
        return NULL;
    //  No @everyone or role ping from a server's error text: Discord is
    //  told to parse no mentions.
    buffer_t buffer = { 0 };
    BUFFER_PRINTF (&buffer, "{\"content\":");
    s_json_string (&buffer, content);
    BUFFER_PRINTF (&buffer, ",\"allowed_mentions\":{\"parse\":[]}}");
    free (content);
    return render_finish (&buffer);
}


//  --------------------------------------------------------------------------
//  The command channel's environment

char **
render_command_env (const notice_t *const *notices, size_t count)
{
    assert (notices && count);
    const notice_t *newest = notices [count - 1];
    const sq_alert_t *alert = &newest->alert;
    enum { VARIABLES = 14 };
    buffer_t values [VARIABLES];
    memset (values, 0, sizeof (values));
    char url [SQ_URL_MAX + 1], detail [SQ_TEXT_MAX + 1], since [32];
    s_url (newest, url, sizeof (url));
    s_detail (newest, SQ_TEXT_MAX, detail, sizeof (detail));
    s_iso (alert->since, since, sizeof (since));
    char owner [sizeof (newest->owner)];
    snprintf (owner, sizeof (owner), "%s", newest->owner);
    render_clean (owner, true);
    char *subject = render_subject (notices, count);
    char *text = render_text (notices, count);

    BUFFER_PRINTF (&values [0], "SQUIRREL_ID=");
    render_ids (&values [0], notices, count, "", true, 0, "", "");
    BUFFER_PRINTF (&values [1], "SQUIRREL_KIND=%s", notice_kind_name (newest->kind));
    BUFFER_PRINTF (&values [2], "SQUIRREL_URL=%s", url);
    BUFFER_PRINTF (&values [3], "SQUIRREL_STATE=%s", s_state (alert->state));
    BUFFER_PRINTF (&values [4], "SQUIRREL_PREVIOUS=%s", s_state (alert->previous));
    BUFFER_PRINTF (&values [5], "SQUIRREL_REASON=%s", s_reason (alert->reason));
    BUFFER_PRINTF (&values [6], "SQUIRREL_DETAIL=%s", detail);
    BUFFER_PRINTF (&values [7], "SQUIRREL_SINCE=%s", since);
    BUFFER_PRINTF (&values [8], "SQUIRREL_HTTP_STATUS=%u", (unsigned) alert->http_status);
    BUFFER_PRINTF (&values [9], "SQUIRREL_OWNER=%s", owner);
    BUFFER_PRINTF (&values [10], "SQUIRREL_COUNT=%zu", count);
    BUFFER_PRINTF (&values [11], "SQUIRREL_SUBJECT=%s", subject ? subject : "");
    BUFFER_PRINTF (&values [12], "SQUIRREL_TEXT=%s", text ? text : "");
    BUFFER_PRINTF (&values [13], "%s", S_PATH);
    bool failed = !subject || !text;
    free (subject);
    free (text);

    char **env = calloc (VARIABLES + 1, sizeof (char *));
    failed |= env == NULL;
    char *entries [VARIABLES];
    for (size_t index = 0; index < VARIABLES; index++) {
        entries [index] = render_finish (&values [index]);
        failed |= entries [index] == NULL;
    }
    if (failed) {
        //  Freed one by one: a NULL among them would end render_env_free early.
        for (size_t index = 0; index < VARIABLES; index++)
            free (entries [index]);
        free (env);
        return NULL;
    }
    memcpy (env, entries, sizeof (entries));
    return env;
}

void
render_env_free (char ***env_p)
{
    assert (env_p);
    if (*env_p) {
        for (char **entry = *env_p; *entry; entry++)
            free (*entry);
        free (*env_p);
        *env_p = NULL;
    }
}
