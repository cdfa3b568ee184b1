/*  =========================================================================
    webhook - start and stop a local webhook receiver for tests

    Runs tests/fixtures/webhook.py (python3 on PATH) as a child process,
    waits for its ready file, and reads back what was posted to it. The
    receiver listens on http://127.0.0.1:PORT/ and takes a POST on any
    path: it logs it at once, then answers after delay_ms with the given
    status (or, started with webhook_start_answers, with the delay and
    status listed for that post). Posts are numbered from 0 in the order
    they arrived.

    The script path comes from the compile definition SQ_WEBHOOK_SCRIPT.
    =========================================================================
*/

#ifndef SQ_WEBHOOK_H_INCLUDED
#define SQ_WEBHOOK_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _webhook_t webhook_t;

//  Start the receiver, answering every POST after delay_ms with status
//  (200..599), and wait (up to 20 s) until it is ready. Returns NULL on
//  failure, with a message on stderr.
webhook_t *
    webhook_start (unsigned delay_ms, unsigned status);

//  Start a receiver whose answers change from post to post: statuses and
//  delays_ms are comma-separated lists ("500,500,200", "1500,0"); post N
//  (from 1) gets entry N, and posts past the end get the last entry. NULL
//  statuses means 200 for every post, NULL delays_ms 0 ms. Otherwise as
//  webhook_start.
webhook_t *
    webhook_start_answers (const char *statuses, const char *delays_ms);

//  Stop the receiver (SIGTERM, then SIGKILL after a deadline), remove its
//  temporary files and set *self_p to NULL. Safe on NULL.
void
    webhook_stop (webhook_t **self_p);

//  URL of a path on the receiver: "http://127.0.0.1:PORT/path". A missing
//  leading '/' is added; NULL path means "/". Caller frees.
char *
    webhook_url (webhook_t *self, const char *path);

//  Number of posts received so far.
size_t
    webhook_count (webhook_t *self);

//  Wait until at least count posts were received, polling, for at most
//  timeout_ms. Returns true if they were, false on timeout (or if the
//  receiver is gone).
bool
    webhook_wait (webhook_t *self, size_t count, unsigned timeout_ms);

//  Body of the post number index (0-based) as text (UTF-8; bytes that were
//  not UTF-8 come back as U+FFFD). NULL if there is no such post. Caller
//  frees.
char *
    webhook_body (webhook_t *self, size_t index);

//  When the post number index (0-based) was logged, in Unix seconds (wall
//  clock, as the receiver saw it), or -1 if there is no such post.
double
    webhook_received_at (webhook_t *self, size_t index);

#ifdef __cplusplus
}
#endif

#endif
