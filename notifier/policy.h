/*  policy.h: when an owner is told, as pure code.

    The notifier asks the policy about every published ALERT and, once a
    second, what is due without one.  It keeps, per site, the latest state
    it heard of, the state its owner was last told and when, the times of
    its recent changes and its settings (from SITE and the owner's OWNER).
    No I/O, no clock: times are unix µs arguments.

    Rules (docs/ARCHITECTURE.md, "Notifier", has the table):
    - maintenance: an alert whose `since` falls inside one of the site's or
      its owner's windows tells nobody (POLICY_HUSH_MAINTENANCE); the feed
      and the store have it anyway.  When no window holds any more and the
      site's state differs from what its owner was last told, one
      NOTICE_MAINTENANCE_OVER says where it is now.
    - flapping: with flap_changes and flap_window_ms both set, the alert
      that makes more than flap_changes changes (by `since`) within
      flap_window_ms is answered POLICY_FLAPPING (tell once, as a
      NOTICE_FLAPPING); later ones POLICY_HUSH_FLAPPING.  Once the site
      has not changed for flap_window_ms, one NOTICE_SETTLED with its state.
    - reminders: while the latest state is DOWN, its owner was told DOWN,
      the site is not flapping and no window holds, a NOTICE_REMINDER every
      remind_every_ms after the last time the owner was told (0 = never).
    - anything else: POLICY_SEND.
    Every notice made (SEND, FLAPPING, and those from policy_tick) counts as
    telling the owner: it sets the told state and time.
*/
#ifndef POLICY_H_INCLUDED
#define POLICY_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "notice.h"
#include "sq_proto.h"

//  A site's settings, from its SITE and its owner's OWNER.
typedef struct {
    uint32_t remind_every_ms;   //  0 = no reminders (also when the owner is quiet)
    bool notify_degraded;       //  the owner is told of DEGRADED and UNMONITORED too
    uint32_t flap_changes;      //  0 = no flap detection
    uint32_t flap_window_ms;    //  0 = no flap detection
    sq_windows_t site_windows;  //  the site's maintenance windows
    sq_windows_t owner_windows; //  its owner's
} policy_site_t;

//  What to do with one ALERT.
typedef enum {
    POLICY_SEND,                //  tell the owner (a NOTICE_ALERT)
    POLICY_FLAPPING,            //  the site now flaps: one NOTICE_FLAPPING instead
    POLICY_HUSH_FLAPPING,       //  flapping already reported: tell nobody
    POLICY_HUSH_MAINTENANCE,    //  inside a maintenance window: tell nobody
    POLICY_HUSH_STALE,          //  older than (or the same as) the change last heard of:
                                //  tell nobody (an alert caught up late, or twice)
    POLICY_HUSH_DEGRADED,       //  degraded or unmonitored, and the owner did not ask
                                //  (notify_degraded): the feed and the store have it
    POLICY_HUSH_UNCHANGED,      //  back from degraded or unmonitored to the state its
                                //  owner was last told: nothing to tell
    POLICY_VERDICT_COUNT
} policy_verdict_t;

typedef struct _policy_t policy_t;

//  A notice policy_tick asks for: kind, with the site's latest alert
//  (borrowed, for the call) and, for FLAPPING, the changes counted.
typedef void (policy_notice_fn) (notice_kind_t kind, const sq_alert_t *latest, uint32_t changes,
                                 void *arg);

policy_t *policy_new (void);
void policy_destroy (policy_t **self_p);

//  Set (or replace) a site's settings; its memory (states, changes) stays.
void policy_set_site (policy_t *self, uint64_t site_id, const policy_site_t *settings);

//  Forget a site that is no longer monitored.
void policy_remove_site (policy_t *self, uint64_t site_id);

//  Before any alert, after a restart: the site's latest published alert
//  (from the store), and the state its owner was last told and when (from
//  the outbox; told_us 0: never told).  When the two states differ (a
//  change hushed by maintenance or flapping before the restart), the
//  site's owner gets one NOTICE_MAINTENANCE_OVER once no window holds.
void policy_restore (policy_t *self, const sq_alert_t *latest, sq_state_t told_state,
                     int64_t told_us);

//  Decide about one published alert for a site with settings (a site
//  never set has none: POLICY_SEND), at now_us.  An alert whose since is
//  before the latest one's, or that is the latest one again (same seq
//  and since), changes nothing: POLICY_HUSH_STALE.
policy_verdict_t policy_alert (policy_t *self, const sq_alert_t *alert, int64_t now_us);

//  Call fn for every notice due at now_us (reminders, settled,
//  maintenance over), each counted as told.  Returns how many.
size_t policy_tick (policy_t *self, int64_t now_us, policy_notice_fn *fn, void *arg);

//  Whether the site is flapping now (for status and tests).
bool policy_flapping (policy_t *self, uint64_t site_id);

const char *policy_verdict_name (policy_verdict_t verdict);

#endif
