/*  outbox.h: the notifier's durable record of what it owes.

    <data_dir>/outbox.db, its own SQLite file (WAL), written by the
    notifier alone: deliveries never wait behind the store writer's
    batches of results.  A notice is written with one delivery row per
    receiver in one transaction before any attempt starts; a delivery
    ends DELIVERED or FAILED (given up), each written as it happens.
    After a restart the pending deliveries are loaded again, in notice
    order.  `received` is the highest ALERT seq up to which every alert
    was taken (the notifier reads the store's alert table above it after
    a restart or a gap on the feed).  With data_dir NULL the database is
    in memory (sweep): the same code, no durability.
*/
#ifndef OUTBOX_H_INCLUDED
#define OUTBOX_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "notice.h"

#define OUTBOX_FILE_NAME "outbox.db"

typedef struct _outbox_t outbox_t;

//  Where a delivery row is.  Stored: append only.
typedef enum {
    OUTBOX_PENDING = 0,         //  not confirmed yet
    OUTBOX_DELIVERED = 1,       //  a receiver confirmed it
    OUTBOX_FAILED = 2,          //  given up
} outbox_state_t;

//  Open (creating) <data_dir>/outbox.db, mode 0600; data_dir NULL: in
//  memory.  NULL with the reason in error.
outbox_t *outbox_open (const char *data_dir, char *error, size_t error_size);
void outbox_close (outbox_t **self_p);

//  Record notice (its id is assigned here and written back) with one
//  pending delivery per receiver key, in one transaction.  When
//  notice->alert.seq is not 0 and an ALERT with that seq, site and since
//  was recorded before, nothing is written and 1 is returned with
//  notice->id set to the earlier one's.  0 when recorded, -1 on error.
int outbox_add (outbox_t *self, notice_t *notice, const char *const *receivers, size_t count);

//  Deliveries ended, in one transaction: state for every (notices [i], receiver).
int outbox_mark_many (outbox_t *self, const uint64_t *notices, size_t count,
                      const char *receiver, outbox_state_t state, const char *error_text);

//  Call fn for every pending delivery, in notice order: the notice (read
//  back and decoded like a frame; a damaged row is logged and skipped) and
//  the receiver key.  Returns the number, or -1.
typedef void (outbox_pending_fn) (const notice_t *notice, const char *receiver, void *arg);
int outbox_each_pending (outbox_t *self, outbox_pending_fn *fn, void *arg);

//  For each site, its newest notice's alert (certificate notices aside)
//  and when it was made: the state its owner was last told, and when, for
//  the policy after a restart (policy_restore).  Returns the number, or -1.
typedef void (outbox_latest_fn) (const sq_alert_t *latest, int64_t told_us, void *arg);
int outbox_each_latest (outbox_t *self, outbox_latest_fn *fn, void *arg);

//  Whether a notice was made from the ALERT with this seq, site and since.
bool outbox_has_alert (outbox_t *self, uint64_t seq, uint64_t site_id, int64_t since);

//  Delete ended deliveries that ended before before_us, and notices made
//  before it with no delivery left, except each site's newest (it says
//  what the owner was last told) and certificate notices for
//  certificates still valid at now_s (they say which warnings were sent).
//  Returns the rows deleted, or -1.
int outbox_prune (outbox_t *self, int64_t before_us, int64_t now_s);

//  Pending deliveries per channel (cheap: pending rows only).  0, or -1.
int outbox_pending_counts (outbox_t *self, uint64_t pending [CHANNEL_COUNT]);

//  Whether a CERT notice for site_id's certificate ending at cert_expiry
//  was made with days_left <= days (that warning threshold is covered).
bool outbox_cert_warned (outbox_t *self, uint64_t site_id, int64_t cert_expiry, int32_t days);

//  The received mark: highest seq up to which every ALERT was taken.
uint64_t outbox_received (outbox_t *self);
int outbox_set_received (outbox_t *self, uint64_t seq);

//  Whether the outbox was just created (no received mark ever written).
bool outbox_is_new (outbox_t *self);

//  Counts by channel and state, for counters and `squirrel status`:
//  counts [channel][state].  0, or -1.
int outbox_counts (outbox_t *self, uint64_t counts [CHANNEL_COUNT][3]);

//  Receiver keys: "<channel>:<owner>", owner "" for the global webhook.
//  Writes into out (>= SQ_NAME_MAX + 16).  Parse: 0 with *kind and the
//  owner copied into owner (>= SQ_NAME_MAX + 1), or -1.
void outbox_receiver_key (channel_kind_t kind, const char *owner, char *out, size_t out_size);
int outbox_receiver_parse (const char *key, channel_kind_t *kind, char *owner, size_t owner_size);

#endif
