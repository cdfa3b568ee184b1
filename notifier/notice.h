/*  notice.h: what the notifier tells someone, and through what.

    A notice is one message-worthy event about one site: a published
    change of state (an ALERT), a reminder that it is still down, the start
    or end of flapping, a maintenance window that ended with the state
    changed, a certificate close to expiry.  Every notice gets an id from
    the outbox (outbox.h) that it keeps for good: receivers de-duplicate on
    it.  A receiver is one channel of one owner ("email" of "alice"); one
    delivery attempt carries one or more notices to one receiver (more
    than one: a digest, see delivery.h and render.h).
*/
#ifndef NOTICE_H_INCLUDED
#define NOTICE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "sq_proto.h"

//  What a notice is about.  Values are stored in the outbox: append only.
typedef enum {
    NOTICE_ALERT = 0,           //  alert.state is new (DOWN, or back UP)
    NOTICE_REMINDER = 1,        //  still DOWN since alert.since
    NOTICE_FLAPPING = 2,        //  changed state `changes` times within the flap window
    NOTICE_SETTLED = 3,         //  stopped flapping; alert.state is where it settled
    NOTICE_MAINTENANCE_OVER = 4,//  a maintenance window ended; alert.state changed inside it
    NOTICE_CERT = 5,            //  the certificate expires at cert_expiry (days_left days)
    NOTICE_KIND_COUNT
} notice_kind_t;

//  The channels of an owner.  Values are stored in the outbox: append only.
typedef enum {
    CHANNEL_WEBHOOK = 0,        //  generic JSON POST, or the owner's webhook_template
    CHANNEL_SLACK = 1,          //  Slack incoming webhook: {"text": ...}
    CHANNEL_DISCORD = 2,        //  Discord webhook: {"content": ...}
    CHANNEL_EMAIL = 3,          //  plain-text mail through the config's smtp
    CHANNEL_COMMAND = 4,        //  a program, the notice in its environment
    CHANNEL_COUNT
} channel_kind_t;

typedef struct {
    uint64_t id;                //  outbox id, from 1, never reused
    notice_kind_t kind;         //  what it is about
    char owner [SQ_NAME_MAX + 1];   //  who it is for ("" = the global webhook only)
    sq_alert_t alert;           //  ALERT: the alert itself; other kinds: the
                                //  site's latest alert (its url, state now,
                                //  since when); alert.seq is 0 for
                                //  notices not made from a published alert
    int64_t at_us;              //  unix µs the notice was made
    uint32_t changes;           //  FLAPPING: state changes counted in the window
    uint32_t window_ms;         //  FLAPPING: that window
    int64_t cert_expiry;        //  CERT: unix seconds the certificate ends
    int32_t days_left;          //  CERT: whole days left at at_us
} notice_t;

//  The certificate warning a site is due with days_left whole days left and
//  thresholds days (e.g. [14, 3]): the smallest threshold >= days_left, or
//  -1 when none is reached yet.  A warning for threshold T covers every
//  threshold above it, so a certificate first seen with 2 days left gets
//  one warning, not two.
int32_t notice_cert_threshold (const sq_days_t *days, int32_t days_left);

//  Whole days left from now_s until expiry_s (rounded down; negative once
//  it has expired).
int32_t notice_days_left (int64_t expiry_s, int64_t now_s);

//  Names, for logs, JSON and the outbox's receiver keys.  "?" if out of range.
const char *notice_kind_name (notice_kind_t kind);
const char *channel_kind_name (channel_kind_t kind);

//  Parse a channel name back; -1 if unknown.
int channel_kind_from_name (const char *name);

#endif
