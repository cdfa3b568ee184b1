/*  notifier.h: tells owners, durably.

    Connects a SUB to the collector's PUB.  Every ALERT is first written to
    the outbox (outbox.h, <data_dir>/outbox.db) with one delivery per
    channel of its owner (and the global webhook, sweep's --notify), then
    delivered: email through the config's smtp, generic webhook (JSON or
    the owner's template), Slack, Discord, a command.  What to tell and
    when is the policy's (policy.h: maintenance, flapping, reminders); what
    to send now, batch into a digest, retry or give up is the delivery
    book's (delivery.h); the words are render.h's; the transports are
    channel.h's.  This actor runs them, on libcurl's multi interface in its
    own thread, and records every ending in the outbox.

    A restart (even after kill -9) reloads what the outbox still holds and
    reads the store's alert table for any ALERT published while the
    notifier was not listening (the feed is PUB/SUB: a late joiner misses
    messages), so every alert reaches every channel at least once and a
    channel that confirmed it is never sent it again.  Without a data
    folder (sweep) the outbox lives in memory only.

    Pipe commands:
      "SITES" + a batch of SITE frames: which owner each site has and when
      to tell them (signal when taken).
      "OWNERS" + a batch of OWNER frames: the owners' channels (signal).
      No delivery starts before the first OWNERS (it may be empty): an
      owner's address is needed, and after a restart pending deliveries
      are loaded before it comes.
      "SYNC <seq>": reply "OK <seq>" once every ALERT up to seq has been
      received and every delivery for it has ended (delivered or given up).
      "STATS": counters line, NOTIFIER_COUNTERS below.
*/
#ifndef NOTIFIER_H_INCLUDED
#define NOTIFIER_H_INCLUDED

#include <czmq.h>
#include "sq_actor.h"

//  The STATS line, in this order (see sq_counters.h).  Per channel:
//  <channel>_delivered, _failed, _pending.
#define NOTIFIER_COUNTERS(C) \
    C (NOTIFIER, alerts,    "ALERTs received (feed and catch-up)") \
    C (NOTIFIER, caught_up, "ALERTs read from the store, missed on the feed") \
    C (NOTIFIER, notices,   "notices made (alerts told, reminders, flapping, ...)") \
    C (NOTIFIER, hushed,    "alerts told to nobody: maintenance or flapping") \
    C (NOTIFIER, messages,  "delivery attempts started") \
    C (NOTIFIER, delivered, "deliveries confirmed (notice x channel)") \
    C (NOTIFIER, retries,   "attempts after a failed one") \
    C (NOTIFIER, given_up,  "deliveries abandoned after give_up_after") \
    C (NOTIFIER, pending,   "deliveries not ended yet (a gauge, read at STATS)") \
    C (NOTIFIER, webhook_delivered, "per channel: confirmed") \
    C (NOTIFIER, webhook_failed,    "per channel: given up") \
    C (NOTIFIER, webhook_pending,   "per channel: pending (gauge)") \
    C (NOTIFIER, slack_delivered,   "") \
    C (NOTIFIER, slack_failed,      "") \
    C (NOTIFIER, slack_pending,     "") \
    C (NOTIFIER, discord_delivered, "") \
    C (NOTIFIER, discord_failed,    "") \
    C (NOTIFIER, discord_pending,   "") \
    C (NOTIFIER, email_delivered,   "") \
    C (NOTIFIER, email_failed,      "") \
    C (NOTIFIER, email_pending,     "") \
    C (NOTIFIER, command_delivered, "") \
    C (NOTIFIER, command_failed,    "") \
    C (NOTIFIER, command_pending,   "") \
    C (NOTIFIER, outbox_errors, "outbox writes that failed (logged)") \
    C (NOTIFIER, malformed, "frames refused") \
    C (NOTIFIER, gaps,      "ALERTs missed on the feed, seen from sequence gaps")

typedef enum {
    NOTIFIER_COUNTERS (SQ_COUNTER_ENUM)
    NOTIFIER_COUNTER_COUNT
} notifier_counter_t;

//  How notifications go out: the config's smtp section and top-level
//  notification keys.  A zero number takes its default (sq_defaults.h).
typedef struct {
    const char *smtp_url;           //  smtp:// or smtps://, or NULL: no email
    const char *smtp_from;          //  sender address
    const char *smtp_user;          //  AUTH user, or NULL
    const char *smtp_password_file; //  file holding the password, or NULL
    const char *smtp_ca_file;       //  extra CA for the mail server, or NULL
    unsigned digest_after;          //  digest_after
    uint32_t digest_window_ms;      //  digest_window
    uint64_t give_up_ms;            //  give_up_after
    uint32_t retry_first_ms;        //  first retry delay (tests shorten it)
    uint32_t retry_max_ms;          //  retry_max
    uint32_t timeout_ms;            //  one attempt: HTTP, SMTP or command
} notifier_settings_t;

typedef struct {
    const char *feed;           //  collector's PUB endpoint (connect)
    const char *data_dir;       //  outbox.db and the store live here; NULL = in memory
    const char *notify_url;     //  webhook told of every alert, or NULL
    notifier_settings_t settings;   //  copied at set-up
} notifier_args_t;

//  The zactor task.  args is a notifier_args_t *, read during set-up.
void notifier_actor (zsock_t *pipe, void *args);

//  Wait until every alert up to seq is received and its deliveries ended.
//  0, or -1 when timeout_ms passed first.
int notifier_sync (zactor_t *notifier, uint64_t seq, int timeout_ms);

#endif
