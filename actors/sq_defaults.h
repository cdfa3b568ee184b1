/*  sq_defaults.h: the numbers several files must agree on, declared once.

    The dispatcher's deadline for a job is timeout + SQ_DEADLINE_MARGIN_MS,
    and sweep's overall wait is built from the same margin and attempt
    limit; a stop's drain and linger times are what make "a clean stop
    loses nothing" true on every link.  Change one here and every user
    follows.
*/
#ifndef SQ_DEFAULTS_H_INCLUDED
#define SQ_DEFAULTS_H_INCLUDED

//  Jobs and liveness (dispatcher, pinger, sweep)
#define SQ_DEADLINE_MARGIN_MS       5000    //  added to a check's timeout for its job deadline
#define SQ_MAX_ATTEMPTS             3       //  sends of one job before it is abandoned
#define SQ_HEARTBEAT_MS             1000    //  pinger -> dispatcher heartbeat interval
#define SQ_HEARTBEAT_MIN_MS         100     //  ... settable from (`heartbeat:`, --heartbeat)
#define SQ_HEARTBEAT_MAX_MS         60000   //  ... to
#define SQ_PINGER_SILENCE_MS        3500    //  no message for this long: the pinger is gone
#define SQ_LIVENESS_CHECK_MS        500     //  how often the dispatcher looks for silence
#define SQ_IMPOSTOR_LOG_MS          60000   //  a pinger name used by another key: logged this often
#define SQ_LATE_MS                  5000    //  a check sent this long after it was due is late
#define SQ_LATE_LOG_MS              60000   //  late checks: said at most this often

//  Remote links (tcp://, always CURVE)
#define SQ_ZAP_DOMAIN               "squirrel"  //  the authenticator answers for it
#define SQ_REMOTE_FRAME_MAX         16384   //  ZMQ_MAXMSGSIZE: twice SQ_FRAME_MAX
#define SQ_ZMTP_HEARTBEAT_MS        1000    //  ZMTP PING on remote links
#define SQ_ZMTP_TIMEOUT_MS          3000    //  no traffic for this long: the link is dead
#define SQ_RECONNECT_MS             200     //  first reconnect after a lost link ...
#define SQ_RECONNECT_MAX_MS         5000    //  ... doubling up to this

//  Linger on close, so that a clean stop hands over what was sent
#define SQ_LINGER_RESULTS_MS        5000    //  pinger PUSH -> collector
#define SQ_LINGER_JOBS_MS           1000    //  pinger DEALER -> dispatcher (credit only)
#define SQ_LINGER_DONE_MS           1000    //  collector PUSH -> dispatcher
#define SQ_LINGER_FEED_MS           2000    //  collector PUB -> notifier, watchers
#define SQ_LINGER_STORE_MS          10000   //  collector PUSH -> store writer

//  Stopping
#define SQ_DRAIN_QUIET_MS           200     //  collector DRAIN: socket quiet this long = empty
#define SQ_DRAIN_MAX_MS             5000    //  ... but never wait longer than this
#define SQ_NOTIFY_DRAIN_MS          15000   //  notifier: deliver what is published, at most this long
#define SQ_STATS_TIMEOUT_MS         5000    //  an actor's answer to STATS

//  Notifications
#define SQ_NOTIFY_TIMEOUT_MS        10000   //  one delivery attempt (HTTP, SMTP, command)
#define SQ_NOTIFY_BACKOFF_MS        1000    //  first retry delay, doubled each time ...
#define SQ_NOTIFY_RETRY_MAX_MS      300000  //  ... up to this: 5 minutes
#define SQ_NOTIFY_GIVE_UP_MS        (24ULL * 3600 * 1000)   //  keep trying an alert this long
#define SQ_NOTIFY_PARALLEL          64      //  receivers with an attempt in flight at once
#define SQ_NOTIFY_DIGEST_AFTER      5       //  alerts per owner and channel sent one by one ...
#define SQ_NOTIFY_DIGEST_WINDOW_MS  60000   //  ... within this window; the rest as one digest
#define SQ_NOTIFY_BATCH_MAX         5000    //  notices in one message at most
#define SQ_NOTIFY_REMIND_MS         3600000 //  remind_every: reminders while a site stays down
#define SQ_NOTIFY_FLAP_CHANGES      5       //  flap_changes: more changes than this ...
#define SQ_NOTIFY_FLAP_WINDOW_MS    1800000 //  ... within flap_window (30 min) is flapping
#define SQ_NOTIFY_TICK_MS           1000    //  reminders, flapping and maintenance checked this often

//  Site states
#define SQ_RECHECK_CAP_MS           60000   //  longest wait between rechecks of a suspect

#endif
