/*  policy.c: see policy.h.  Pure book-keeping: CZMQ only for its hash
    table, no sockets, no files, no clock (every time is an argument, unix
    µs).

    Design.  Sites live in one dense array (a removed site's hole is
    filled by the last one), found by id through a zhashx of id -> slot.
    policy_alert, policy_restore and policy_set_site may allocate (a new
    site, a longer URL, a ring); policy_tick never does: it walks the array
    once and, only when a notice is due, rebuilds the site's latest alert
    into one scratch sq_alert_t for the callback.

    A linear pass each tick is the trade-off we take, against a heap of
    next-due times that every alert, reload and window edge would have to
    keep right.  Measured (-O2, 100,000 sites): a few ms per tick; walking
    the zhashx instead of an array cost three times as much, hence the
    array, and the fields a tick reads first in site_t.  If ticks ever
    show in a profile, the heap is the mend.
*/
#include "policy.h"

#include <czmq.h>
#include <stdio.h>
#include <string.h>

//  The latest alert of a site, as kept.  A whole sq_alert_t is about
//  2.4 KB, nearly all of it the url and detail buffers at their maximum;
//  at 100,000 sites that is 240 MB of mostly zeros.  So numbers are kept
//  as they are and strings on the heap at their length, and the struct is
//  derived from SQ_ALERT_FIELDS, the one declaration of the alert: a field
//  added there is kept here without an edit (a new field kind fails to
//  compile until it has a line below).
#define S_KEPT_U64(name)        uint64_t name;
#define S_KEPT_U32(name)        uint32_t name;
#define S_KEPT_U16(name)        uint16_t name;
#define S_KEPT_ENUM(name)       uint8_t name;
#define S_KEPT_BOOL(name)       bool name;
#define S_KEPT_I64(name)        int64_t name;
#define S_KEPT_STR(name)        char *name;
#define S_KEPT_RANGES(name)     sq_ranges_t name;
#define S_KEPT_WINDOWS(name)    sq_windows_t name;
#define S_KEPT_DAYS(name)       sq_days_t name;
#define S_KEPT_FIELD(S, type, name, min, max) S_KEPT_##type (name)

typedef struct {
    SQ_ALERT_FIELDS (S_KEPT_FIELD, _)
} kept_alert_t;

//  One site.  What every tick reads comes first, so that for most sites
//  a tick touches one or two cache lines.
typedef struct {
    int64_t told_us;            //  when the owner was last told, unix µs; 0 = never
    uint8_t told_state;         //  sq_state_t it was told
    bool has_latest;            //  an alert (or a restore) was recorded
    bool flapping;              //  FLAPPING told, SETTLED not yet
    bool hushed;                //  an alert was hushed by maintenance and
                                //  the window it fell in has not been seen to end
    bool has_settings;          //  policy_set_site was called
    kept_alert_t latest;        //  the latest alert heard of
    policy_site_t settings;     //  remind, flap and maintenance settings
    int64_t flapping_us;        //  when flapping was told, unix µs
    int64_t *changes;           //  ring of recent changes' `since`, unix µs
    uint32_t changes_size;      //  slots in the ring: flap_changes + 1, or 0
    uint32_t changes_count;     //  slots in use
    uint32_t changes_next;      //  slot the next change goes to
    uint64_t site_id;           //  its id, the key in by_id
} site_t;

struct _policy_t {
    site_t *sites;              //  every site, dense, in no order
    size_t site_count;          //  sites in use
    size_t site_size;           //  sites allocated
    zhashx_t *by_id;            //  site id -> slot + 1 (0 is "not found")
    sq_alert_t scratch;         //  a latest alert rebuilt for a callback
    bool ticking;               //  inside policy_tick: sites must not move
};


//  --------------------------------------------------------------------------
//  The kept alert

static void
s_text_keep (char **kept, const char *text)
{
    if (*kept && strcmp (*kept, text) == 0)
        return;                 //  the usual case: the same URL again
    free (*kept);
    *kept = strdup (text);
    assert (*kept);
}

#define S_KEEP_VALUE(name)      kept->name = alert->name;
#define S_KEEP_U64(name)        S_KEEP_VALUE (name)
#define S_KEEP_U32(name)        S_KEEP_VALUE (name)
#define S_KEEP_U16(name)        S_KEEP_VALUE (name)
#define S_KEEP_ENUM(name)       S_KEEP_VALUE (name)
#define S_KEEP_BOOL(name)       S_KEEP_VALUE (name)
#define S_KEEP_I64(name)        S_KEEP_VALUE (name)
#define S_KEEP_STR(name)        s_text_keep (&kept->name, alert->name);
#define S_KEEP_RANGES(name)     S_KEEP_VALUE (name)
#define S_KEEP_WINDOWS(name)    S_KEEP_VALUE (name)
#define S_KEEP_DAYS(name)       S_KEEP_VALUE (name)
#define S_KEEP_FIELD(S, type, name, min, max) S_KEEP_##type (name)

static void
s_alert_keep (kept_alert_t *kept, const sq_alert_t *alert)
{
    SQ_ALERT_FIELDS (S_KEEP_FIELD, _)
}

//  Strings were whole alert fields when kept, so they fit back; the copy
//  is bounded all the same.
static void
s_text_fill (char *text, size_t size, const char *kept)
{
    snprintf (text, size, "%s", kept ? kept : "");
}

#define S_FILL_VALUE(name)      alert->name = kept->name;
#define S_FILL_U64(name)        S_FILL_VALUE (name)
#define S_FILL_U32(name)        S_FILL_VALUE (name)
#define S_FILL_U16(name)        S_FILL_VALUE (name)
#define S_FILL_ENUM(name)       S_FILL_VALUE (name)
#define S_FILL_BOOL(name)       S_FILL_VALUE (name)
#define S_FILL_I64(name)        S_FILL_VALUE (name)
#define S_FILL_STR(name)        s_text_fill (alert->name, sizeof (alert->name), kept->name);
#define S_FILL_RANGES(name)     S_FILL_VALUE (name)
#define S_FILL_WINDOWS(name)    S_FILL_VALUE (name)
#define S_FILL_DAYS(name)       S_FILL_VALUE (name)
#define S_FILL_FIELD(S, type, name, min, max) S_FILL_##type (name)

static void
s_alert_fill (sq_alert_t *alert, const kept_alert_t *kept)
{
    SQ_ALERT_FIELDS (S_FILL_FIELD, _)
}

#define S_FORGET_STR(name)      free (kept->name); kept->name = NULL;
#define S_FORGET_U64(name)
#define S_FORGET_U32(name)
#define S_FORGET_U16(name)
#define S_FORGET_ENUM(name)
#define S_FORGET_BOOL(name)
#define S_FORGET_I64(name)
#define S_FORGET_RANGES(name)
#define S_FORGET_WINDOWS(name)
#define S_FORGET_DAYS(name)
#define S_FORGET_FIELD(S, type, name, min, max) S_FORGET_##type (name)

static void
s_alert_forget (kept_alert_t *kept)
{
    SQ_ALERT_FIELDS (S_FORGET_FIELD, _)
}


//  --------------------------------------------------------------------------
//  Sites

//  Keys are site ids (see s_key); slots are stored as the value, plus 1,
//  since zhashx takes no NULL.
static size_t
s_site_id_hash (const void *key)
{
    //  The finaliser of MurmurHash3: ids are mostly consecutive, buckets
    //  are taken modulo a prime, but a mixed hash costs nothing here
    uint64_t value = (uint64_t) (uintptr_t) key;
    value ^= value >> 33;
    value *= 0xff51afd7ed558ccdULL;
    value ^= value >> 33;
    return (size_t) value;
}

static int
s_site_id_compare (const void *one, const void *two)
{
    uintptr_t a = (uintptr_t) one, b = (uintptr_t) two;
    return a < b ? -1 : a > b;
}

//  A key of by_id: the id itself in the pointer (ids are never 0), so
//  that a site costs the table no allocation of its own.
static void *
s_key (uint64_t site_id)
{
    return (void *) (uintptr_t) site_id;
}

static site_t *
s_site_lookup (policy_t *self, uint64_t site_id)
{
    uintptr_t slot = (uintptr_t) zhashx_lookup (self->by_id, s_key (site_id));
    return slot ? &self->sites [slot - 1] : NULL;
}

//  The site, remembered from now on if it was not yet.  The pointer holds
//  until the next site is added or removed.
static site_t *
s_site_require (policy_t *self, uint64_t site_id)
{
    assert (!self->ticking);
    site_t *site = s_site_lookup (self, site_id);
    if (site)
        return site;
    if (self->site_count == self->site_size) {
        size_t size = self->site_size ? self->site_size * 2 : 64;
        site_t *sites = (site_t *) realloc (self->sites, size * sizeof (site_t));
        assert (sites);
        self->sites = sites;
        self->site_size = size;
    }
    size_t slot = self->site_count++;
    site = &self->sites [slot];
    memset (site, 0, sizeof (site_t));
    site->site_id = site_id;
    site->told_state = SQ_STATE_UNKNOWN;
    int rc = zhashx_insert (self->by_id, s_key (site_id), (void *) (uintptr_t) (slot + 1));
    assert (rc == 0);
    (void) rc;
    return site;
}

static void
s_site_forget (site_t *site)
{
    s_alert_forget (&site->latest);
    free (site->changes);
    site->changes = NULL;
}

static bool
s_flap_detection (const policy_site_t *settings)
{
    return settings->flap_changes > 0 && settings->flap_window_ms > 0;
}

//  Window and interval settings are ms; our times are µs.  The product
//  is taken in 64 bits: a week of ms times 1000 does not fit 32.
static int64_t
s_ms_to_us (uint32_t ms)
{
    return (int64_t) ms * 1000;
}

//  Size the ring for the settings, keeping the newest changes that fit.
//  Only changes inside the last flap window can count, and more than
//  flap_changes + 1 of them never change the verdict, so the ring holds
//  that many and no more.
static void
s_changes_resize (site_t *site)
{
    uint32_t size = s_flap_detection (&site->settings) ? site->settings.flap_changes + 1 : 0;
    if (size == site->changes_size)
        return;
    int64_t *changes = size ? (int64_t *) calloc (size, sizeof (int64_t)) : NULL;
    assert (size == 0 || changes);
    uint32_t count = site->changes_count < size ? site->changes_count : size;
    //  Oldest kept first: the newest `count`, in order
    for (uint32_t index = 0; index < count; index++) {
        uint32_t from = (site->changes_next + site->changes_size - count + index)
                      % site->changes_size;
        changes [index] = site->changes [from];
    }
    free (site->changes);
    site->changes = changes;
    site->changes_size = size;
    site->changes_count = count;
    site->changes_next = size ? count % size : 0;
}

static void
s_changes_add (site_t *site, int64_t since_us)
{
    if (site->changes_size == 0)
        return;                 //  no flap detection: nothing to count
    site->changes [site->changes_next] = since_us;
    site->changes_next = (site->changes_next + 1) % site->changes_size;
    if (site->changes_count < site->changes_size)
        site->changes_count++;
}

//  Changes with `since` in (until - window, until].
static uint32_t
s_changes_within (const site_t *site, int64_t until_us, int64_t window_us)
{
    uint32_t count = 0;
    for (uint32_t index = 0; index < site->changes_count; index++) {
        int64_t since_us = site->changes [index];
        if (since_us > until_us - window_us && since_us <= until_us)
            count++;
    }
    return count;
}

//  Whether one of the site's or its owner's windows holds at unix µs.
//  A site without settings has no windows.
static bool
s_in_maintenance (const site_t *site, int64_t at_us)
{
    if (!site->has_settings)
        return false;
    //  Windows are whole seconds; floor, so that µs before 0 stay before
    int64_t at_s = at_us / 1000000 - (at_us % 1000000 < 0);
    return sq_windows_contain (&site->settings.site_windows, at_s)
        || sq_windows_contain (&site->settings.owner_windows, at_s);
}

static void
s_told (site_t *site, uint8_t state, int64_t now_us)
{
    site->told_state = state;
    site->told_us = now_us;
}


//  --------------------------------------------------------------------------
//  Life cycle

policy_t *
policy_new (void)
{
    policy_t *self = (policy_t *) calloc (1, sizeof (policy_t));
    assert (self);
    self->by_id = zhashx_new ();
    assert (self->by_id);
    zhashx_set_key_hasher (self->by_id, s_site_id_hash);
    zhashx_set_key_comparator (self->by_id, s_site_id_compare);
    zhashx_set_key_duplicator (self->by_id, NULL);
    zhashx_set_key_destructor (self->by_id, NULL);
    return self;
}

void
policy_destroy (policy_t **self_p)
{
    assert (self_p);
    policy_t *self = *self_p;
    if (!self)
        return;
    for (size_t slot = 0; slot < self->site_count; slot++)
        s_site_forget (&self->sites [slot]);
    free (self->sites);
    zhashx_destroy (&self->by_id);
    free (self);
    *self_p = NULL;
}


//  --------------------------------------------------------------------------
//  Settings and memory

void
policy_set_site (policy_t *self, uint64_t site_id, const policy_site_t *settings)
{
    assert (self && settings);
    //  Settings come from a checked SITE or OWNER: more is a caller's bug
    assert (settings->flap_changes <= SQ_FLAP_CHANGES_MAX);
    site_t *site = s_site_require (self, site_id);
    site->settings = *settings;
    site->has_settings = true;
    //  A reload that turns flap detection off leaves a flapping site
    //  flapping; the next tick settles it (its window is now 0), so its
    //  owner, told FLAPPING, hears SETTLED once.
    s_changes_resize (site);
}

void
policy_remove_site (policy_t *self, uint64_t site_id)
{
    assert (self);
    assert (!self->ticking);
    uintptr_t slot = (uintptr_t) zhashx_lookup (self->by_id, s_key (site_id));
    if (!slot)
        return;
    site_t *site = &self->sites [slot - 1];
    s_site_forget (site);
    zhashx_delete (self->by_id, s_key (site_id));
    //  The last site fills the hole
    site_t *last = &self->sites [--self->site_count];
    if (site != last) {
        *site = *last;
        zhashx_update (self->by_id, s_key (site->site_id), (void *) slot);
    }
}

void
policy_restore (policy_t *self, const sq_alert_t *latest, sq_state_t told_state, int64_t told_us)
{
    assert (self && latest);
    site_t *site = s_site_require (self, latest->site_id);
    s_alert_keep (&site->latest, latest);
    site->has_latest = true;
    if (told_us != 0)
        s_told (site, told_state, told_us);
    //  Heard of, never told: the tick says where the site is now, once no
    //  window holds (the same path as the end of a maintenance window).
    if (told_us != 0 && told_state != latest->state)
        site->hushed = true;
}


//  --------------------------------------------------------------------------
//  Decisions

policy_verdict_t
policy_alert (policy_t *self, const sq_alert_t *alert, int64_t now_us)
{
    assert (self && alert);
    site_t *site = s_site_require (self, alert->site_id);
    //  Late or twice: the change last heard of is newer, or this one.
    if (site->has_latest
    &&  (alert->since < site->latest.since
     ||  (alert->since == site->latest.since && alert->seq == site->latest.seq)))
        return POLICY_HUSH_STALE;
    s_alert_keep (&site->latest, alert);
    site->has_latest = true;

    //  Maintenance first: a change inside a window tells nobody, not even
    //  that the site flaps.  The told state stays, so that the end of the
    //  window can say where the site went.
    if (s_in_maintenance (site, alert->since)) {
        s_changes_add (site, alert->since);
        site->hushed = true;
        return POLICY_HUSH_MAINTENANCE;
    }
    //  Degraded (down in fewer regions than the quorum) and unmonitored
    //  reach only the owners who asked; the others hear of the site again
    //  when it is down, or up after a down they were told of.  Neither
    //  counts as a change for flapping: the owner saw none.
    bool partial = alert->state == SQ_STATE_DEGRADED || alert->state == SQ_STATE_UNMONITORED;
    bool asked = site->has_settings && site->settings.notify_degraded;
    if (partial && !asked)
        return POLICY_HUSH_DEGRADED;
    //  Back from a partial state its owner never heard of to the state
    //  they were told (never told anything, the owner takes the site for
    //  up: the collector publishes no first UP): nothing to tell.
    bool from_partial = alert->previous == SQ_STATE_DEGRADED
                     || alert->previous == SQ_STATE_UNMONITORED;
    sq_state_t believed = site->told_us ? (sq_state_t) site->told_state : SQ_STATE_UP;
    if (from_partial && !asked && alert->state == believed)
        return POLICY_HUSH_UNCHANGED;
    s_changes_add (site, alert->since);
    if (site->has_settings && s_flap_detection (&site->settings)) {
        if (site->flapping)
            return POLICY_HUSH_FLAPPING;
        uint32_t changes = s_changes_within (site, alert->since,
                                             s_ms_to_us (site->settings.flap_window_ms));
        if (changes > site->settings.flap_changes) {
            site->flapping = true;
            site->flapping_us = now_us;
            s_told (site, alert->state, now_us);
            return POLICY_FLAPPING;
        }
    }
    s_told (site, alert->state, now_us);
    return POLICY_SEND;
}

//  One notice for the site: rebuild its latest alert, call, count as told.
static void
s_notify (policy_t *self, site_t *site, notice_kind_t kind, int64_t now_us,
          policy_notice_fn *fn, void *arg)
{
    s_alert_fill (&self->scratch, &site->latest);
    fn (kind, &self->scratch, 0, arg);
    s_told (site, site->latest.state, now_us);
}

//  Every notice due for one site at now_us, in the order of policy.h.
static size_t
s_site_tick (policy_t *self, site_t *site, int64_t now_us, policy_notice_fn *fn, void *arg)
{
    if (!site->has_latest)
        return 0;               //  settings only: nothing to say yet
    size_t notices = 0;
    const policy_site_t *settings = &site->settings;

    //  Flapping ends once the site has kept still for the whole window
    if (site->flapping
    &&  now_us - site->latest.since >= s_ms_to_us (settings->flap_window_ms)) {
        site->flapping = false;
        s_notify (self, site, NOTICE_SETTLED, now_us, fn, arg);
        notices++;
    }
    //  Windows are checked at now only for sites that need it: a hushed
    //  site, or one that may be due a reminder
    if (site->hushed && !s_in_maintenance (site, now_us)) {
        site->hushed = false;
        if (site->latest.state != site->told_state) {
            s_notify (self, site, NOTICE_MAINTENANCE_OVER, now_us, fn, arg);
            notices++;
        }
    }
    if (settings->remind_every_ms > 0
    &&  site->latest.state == SQ_STATE_DOWN
    &&  site->told_state == SQ_STATE_DOWN
    &&  !site->flapping
    &&  site->told_us > 0
    &&  now_us - site->told_us >= s_ms_to_us (settings->remind_every_ms)
    &&  !s_in_maintenance (site, now_us)) {
        s_notify (self, site, NOTICE_REMINDER, now_us, fn, arg);
        notices++;
    }
    return notices;
}

size_t
policy_tick (policy_t *self, int64_t now_us, policy_notice_fn *fn, void *arg)
{
    assert (self && fn);
    assert (!self->ticking);    //  fn must not tick again
    self->ticking = true;
    size_t notices = 0;
    for (size_t slot = 0; slot < self->site_count; slot++)
        notices += s_site_tick (self, &self->sites [slot], now_us, fn, arg);
    self->ticking = false;
    return notices;
}

bool
policy_flapping (policy_t *self, uint64_t site_id)
{
    assert (self);
    site_t *site = s_site_lookup (self, site_id);
    return site && site->flapping;
}

const char *
policy_verdict_name (policy_verdict_t verdict)
{
    static const char *const names [POLICY_VERDICT_COUNT] = {
        "send", "flapping", "hush_flapping", "hush_maintenance", "hush_stale",
        "hush_degraded", "hush_unchanged"
    };
    return (unsigned) verdict < POLICY_VERDICT_COUNT ? names [verdict] : "?";
}
