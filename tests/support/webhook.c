/*  =========================================================================
    webhook - start and stop a local webhook receiver for tests

    Runs python3 on tests/fixtures/webhook.py through fixture_process, reads
    {"port": P, "log": "/abs/path/posts.jsonl"} from its ready file, and
    answers questions about the posts from the log: one JSON object per
    line, {"path", "content_type", "body", "received_at"}, written with one
    write() each. Only lines ending in a newline are counted, so a line
    being written is never seen half-way.
    =========================================================================
*/

#ifndef _GNU_SOURCE
#define _GNU_SOURCE                     //  getline, fopen "e"
#endif

#include "webhook.h"
#include "fixture_process.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#ifndef SQ_WEBHOOK_SCRIPT
#   error "SQ_WEBHOOK_SCRIPT must be defined: absolute path of tests/fixtures/webhook.py"
#endif

#define WEBHOOK_POLL_MS     10          //  webhook_wait poll interval

//  Structure of our class

struct _webhook_t {
    fixture_process_t *process;         //  The receiver child process
    int port;                           //  Its HTTP port, -1 if unknown
    char *log;                          //  Absolute path of its post log
};

//  What s_field_member looks for and finds

typedef struct {
    const char *name;                   //  Member wanted
    fixture_json_type_t type;           //  Its JSON type (string or number)
    char *value;                        //  Its value (number: its JSON text) once found
} s_field_t;


//  --------------------------------------------------------------------------
//  Helpers

static bool
s_ready_member (void *arg, const char *key, fixture_json_type_t type,
                const char *value, size_t length)
{
    webhook_t *self = (webhook_t *) arg;
    if (strcmp (key, "port") == 0)
        return type == FIXTURE_JSON_NUMBER
            && fixture_json_int (value, 1, 65535, &self->port);
    if (strcmp (key, "log") == 0) {
        if (type != FIXTURE_JSON_STRING || strlen (value) != length)
            return false;
        free (self->log);
        self->log = strdup (value);
        return self->log != NULL;
    }
    return true;                        //  Unknown keys are ignored
}

static bool
s_field_member (void *arg, const char *key, fixture_json_type_t type,
                const char *value, size_t length)
{
    s_field_t *field = (s_field_t *) arg;
    if (strcmp (key, field->name) != 0 || type != field->type)
        return true;
    free (field->value);
    field->value = (char *) malloc (length + 1);
    if (!field->value)
        return false;
    memcpy (field->value, value, length + 1);
    return true;
}

//  Member name, of JSON type type, of the post number index, or NULL.
//  Caller frees.
static char *
s_post_field (webhook_t *self, size_t index, const char *name,
              fixture_json_type_t type)
{
    if (!self)
        return NULL;
    FILE *file = fopen (self->log, "re");
    if (!file) {
        fprintf (stderr, "webhook: cannot open %s: %s\n",
                 self->log, strerror (errno));
        return NULL;
    }
    char *line = NULL;
    size_t capacity = 0;
    ssize_t length;
    size_t number = 0;
    s_field_t field = { name, type, NULL };
    while ((length = getline (&line, &capacity, file)) != -1) {
        if (line [length - 1] != '\n')
            break;                      //  Still being written: not a post yet
        if (number++ < index)
            continue;
        if (!fixture_json_object (line, (size_t) length, s_field_member, &field)) {
            fprintf (stderr, "webhook: post %zu is not valid JSON\n", index);
            free (field.value);
            field.value = NULL;
        }
        break;
    }
    free (line);
    fclose (file);
    return field.value;
}


//  --------------------------------------------------------------------------
//  Start the receiver with the script's options args and wait until it is
//  ready

static webhook_t *
s_start (const char *const *args)
{
    webhook_t *self = (webhook_t *) calloc (1, sizeof (webhook_t));
    if (!self) {
        fprintf (stderr, "webhook: out of memory\n");
        return NULL;
    }
    self->port = -1;
    char *text = NULL;
    size_t length = 0;
    self->process = fixture_process_start ("webhook", SQ_WEBHOOK_SCRIPT,
                                           args, &text, &length);
    if (self->process) {
        if (!fixture_json_object (text, length, s_ready_member, self)
        ||  self->port < 0 || !self->log || self->log [0] != '/') {
            fprintf (stderr, "webhook: ready file is not the expected JSON: "
                     "%s\n", text);
            webhook_stop (&self);
        }
    }
    else
        webhook_stop (&self);
    free (text);
    return self;
}

webhook_t *
webhook_start (unsigned delay_ms, unsigned status)
{
    char delay [16], code [16];
    snprintf (delay, sizeof (delay), "%u", delay_ms);
    snprintf (code, sizeof (code), "%u", status);
    const char *args [] = { "--delay-ms", delay, "--status", code, NULL };
    return s_start (args);
}

webhook_t *
webhook_start_answers (const char *statuses, const char *delays_ms)
{
    const char *args [5] = { NULL };
    size_t count = 0;
    if (statuses) {
        args [count++] = "--statuses";
        args [count++] = statuses;
    }
    if (delays_ms) {
        args [count++] = "--delays-ms";
        args [count++] = delays_ms;
    }
    return s_start (args);
}


//  --------------------------------------------------------------------------
//  Stop the receiver and remove its files

void
webhook_stop (webhook_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    webhook_t *self = *self_p;
    fixture_process_stop (&self->process);
    free (self->log);
    free (self);
    *self_p = NULL;
}


//  --------------------------------------------------------------------------
//  URL of a path on the receiver; caller frees

char *
webhook_url (webhook_t *self, const char *path)
{
    if (!self)
        return NULL;
    if (!path)
        path = "/";
    return fixture_format ("http://127.0.0.1:%d%s%s", self->port,
                           path [0] == '/'? "": "/", path);
}


//  --------------------------------------------------------------------------
//  Number of posts received so far: complete lines of the log

size_t
webhook_count (webhook_t *self)
{
    if (!self)
        return 0;
    FILE *file = fopen (self->log, "re");
    if (!file) {
        fprintf (stderr, "webhook: cannot open %s: %s\n",
                 self->log, strerror (errno));
        return 0;
    }
    size_t count = 0;
    char buffer [8192];
    size_t length;
    while ((length = fread (buffer, 1, sizeof (buffer), file)) > 0) {
        const char *cur = buffer, *end = buffer + length;
        while ((cur = (const char *) memchr (cur, '\n', (size_t) (end - cur)))) {
            count++;
            cur++;
        }
    }
    fclose (file);
    return count;
}


//  --------------------------------------------------------------------------
//  Wait for at least count posts

bool
webhook_wait (webhook_t *self, size_t count, unsigned timeout_ms)
{
    if (!self)
        return false;
    int64_t deadline = fixture_now_ms () + (int64_t) timeout_ms;
    while (true) {
        if (webhook_count (self) >= count)
            return true;
        if (!fixture_process_running (self->process)) {
            fprintf (stderr, "webhook: receiver is gone\n");
            return webhook_count (self) >= count;
        }
        int64_t left = deadline - fixture_now_ms ();
        if (left <= 0)
            return false;
        fixture_sleep_ms (left < WEBHOOK_POLL_MS? (int) left: WEBHOOK_POLL_MS);
    }
}


//  --------------------------------------------------------------------------
//  Body of a post; caller frees

char *
webhook_body (webhook_t *self, size_t index)
{
    return s_post_field (self, index, "body", FIXTURE_JSON_STRING);
}


//  --------------------------------------------------------------------------
//  When a post arrived, Unix seconds; -1 if there is no such post

double
webhook_received_at (webhook_t *self, size_t index)
{
    char *text = s_post_field (self, index, "received_at", FIXTURE_JSON_NUMBER);
    if (!text)
        return -1;
    char *end = NULL;
    double value = strtod (text, &end);
    bool whole = end != text && *end == '\0';
    free (text);
    return whole ? value : -1;
}
