/*  job_book.c: see job_book.h.  Pure book-keeping: CZMQ only for its hash
    table, no sockets, no clock (every time is an argument, monotonic ms).

    Storage, for hundreds of thousands of sites: a site holds its check
    (URL and keyword by pointer, shared by all its probes); a probe holds
    only its schedule (48 bytes).  Each region owns its probes in one array
    (holes reused through a free chain) and its own heap keyed by the
    probe's index in that array, so heaps stay dense.  A probe is named
    by a handle, region << 24 | index; a site chains its probes through
    their `next` handle (a handful at most).  Site ids find their slot
    through an open-addressing table (16 bytes an entry, at most half
    full), not a hash of allocated items: no allocation per site, and the
    book can count its own bytes exactly (the `bytes` gauge).
*/
#include "job_book.h"
#include "sq_heap.h"
#include "sq_actor.h"
#include "sq_defaults.h"

#include <czmq.h>
#include <malloc.h>
#include <string.h>

typedef enum {
    PHASE_IDLE,                 //  waiting for its due time
    PHASE_IN_FLIGHT,            //  a job is out, waiting for DONE
    PHASE_FINISHED              //  once mode: checked, no more
} phase_t;

#define NONE            UINT32_MAX      //  no probe, no site
#define PROBE_SHIFT     24              //  handle = region << 24 | index
#define PROBE_INDEX_MAX ((1U << PROBE_SHIFT) - 1)   //  probes per region, less one

//  One site: what to check, shared by its probes.
typedef struct {
    job_site_t check;           //  what to check, and the interval
    int64_t first_at;           //  when it was first due (mono ms)
    uint32_t offset_ms;         //  its spread over the interval, as given
    uint32_t first_probe;       //  handle of its first probe, or NONE; while
                                //  the slot is free: the next free site
    bool every_region;          //  regions not named: one probe per live region
    bool active;                //  slot in use
    bool listed;                //  put since the last sites_begin
} site_t;

//  One probe: a site's schedule in one region.
typedef struct {
    uint64_t job_id;            //  current or last job
    int64_t at;                 //  heap key: due time or deadline (mono ms)
    int64_t round;              //  nominal due time of this round, for cadence
    uint32_t site;              //  its site's slot
    uint32_t next;              //  next probe of the same site, or NONE; while
                                //  free: the next free index of the region
    uint32_t attempt;           //  sends of the current job
    int16_t pinger;             //  pinger of the current job, -1 if none
    int16_t avoid;              //  pinger the next send should avoid, -1 if
                                //  none: declared gone with this job, or the
                                //  one DONE asked a recheck to avoid
    uint8_t phase;              //  phase_t
    bool active;                //  in use (not on the free chain)
} probe_t;

//  One entry of the site id table: linear probing, id 0 = empty (site ids
//  start at 1), deletion by backward shift (no tombstones).
typedef struct {
    uint64_t id;                //  site id, 0 for an empty entry
    uint32_t slot;              //  its site's slot
} id_entry_t;

#define ID_TABLE_MIN    1024    //  entries of a table's first allocation

//  One region: its name, its pingers' count, its probes and their heap.
typedef struct {
    char name [SQ_NAME_MAX + 1];//  "" for pingers without a region
    bool used;                  //  name in use (else the entry may be taken)
    bool claimed;               //  named by the site being put: not to be taken
    bool defaults;              //  sites of every region have a probe here
    int live;                   //  live pingers of the region
    int cursor;                 //  round-robin start for its next job
    uint64_t sends;             //  jobs sent to it (probation turns)
    sq_heap_t *schedule;        //  probe index -> next event time
    probe_t *probes;            //  its probes, holes included
    uint32_t probe_count;       //  entries in use or holes
    uint32_t probe_cap;         //  entries allocated
    uint32_t free_probe;        //  first hole, or NONE
    uint32_t active;            //  probes in use
} region_t;

struct _job_book_t {
    job_book_rules_t rules;     //  settings, defaults applied
    site_t *sites;              //  site slots
    uint32_t site_count;        //  slots in use or holes
    uint32_t site_cap;          //  slots allocated
    uint32_t free_site;         //  first hole, or NONE
    id_entry_t *ids;            //  site id -> slot (id_entry_t)
    uint32_t id_cap;            //  entries allocated: 0 or a power of two
    uint32_t id_count;          //  entries in use: sites in the book
    uint64_t string_bytes;      //  malloc'd bytes of the sites' URLs and keywords
    region_t regions [JOB_BOOK_REGIONS_MAX];       //  known regions
    int region_count;           //  entries used or reclaimable
    job_pinger_t pingers [JOB_BOOK_PINGERS_MAX];   //  known pingers
    int pinger_count;           //  entries in pingers
    uint64_t last_job;          //  last job id handed out
    uint64_t counters [JOB_BOOK_COUNTER_COUNT];    //  decisions, for STATS
};

const char *const job_book_counter_names [] = { JOB_BOOK_COUNTERS (SQ_COUNTER_STRING) };

static uint32_t
s_handle (int region, uint32_t index)
{
    return ((uint32_t) region << PROBE_SHIFT) | index;
}

static int
s_handle_region (uint32_t handle)
{
    return (int) (handle >> PROBE_SHIFT);
}

static probe_t *
s_probe (job_book_t *self, uint32_t handle)
{
    return &self->regions [s_handle_region (handle)].probes [handle & PROBE_INDEX_MAX];
}


//  --------------------------------------------------------------------------
//  Life cycle

job_book_t *
job_book_new (const job_book_rules_t *rules)
{
    job_book_t *self = (job_book_t *) calloc (1, sizeof (job_book_t));
    assert (self);
    self->rules = *rules;
    if (!self->rules.deadline_margin_ms)
        self->rules.deadline_margin_ms = SQ_DEADLINE_MARGIN_MS;
    if (!self->rules.max_attempts)
        self->rules.max_attempts = SQ_MAX_ATTEMPTS;
    if (!self->rules.pinger_silence_ms)
        self->rules.pinger_silence_ms = SQ_PINGER_SILENCE_MS;
    self->last_job = rules->first_job_id;
    self->free_site = NONE;
    return self;
}

static void
s_site_forget (job_book_t *self, site_t *site)
{
    self->string_bytes -= malloc_usable_size (site->check.url)
                        + malloc_usable_size (site->check.keyword);
    free (site->check.url);
    free (site->check.keyword);
    site->check.url = site->check.keyword = NULL;
    site->active = false;
}

void
job_book_destroy (job_book_t **self_p)
{
    job_book_t *self = *self_p;
    if (!self)
        return;
    for (uint32_t index = 0; index < self->site_count; index++)
        s_site_forget (self, &self->sites [index]);
    free (self->sites);
    for (int index = 0; index < self->region_count; index++) {
        free (self->regions [index].probes);
        sq_heap_destroy (&self->regions [index].schedule);
    }
    free (self->ids);
    free (self);
    *self_p = NULL;
}


//  --------------------------------------------------------------------------
//  Regions

//  The region named name, or -1.
static int
s_region_find (job_book_t *self, const char *name)
{
    for (int index = 0; index < self->region_count; index++)
        if (self->regions [index].used && streq (self->regions [index].name, name))
            return index;
    return -1;
}

//  The region named name, made when new; when the table is full, an entry
//  nothing uses any more (no live pinger, no probe, not in the kept default
//  set, not named by the site being put) is taken; -1 when there is none.
static int
s_region_intern (job_book_t *self, const char *name)
{
    int index = s_region_find (self, name);
    if (index >= 0)
        return index;
    if (self->region_count < JOB_BOOK_REGIONS_MAX)
        index = self->region_count++;
    else {
        for (index = 0; index < self->region_count; index++) {
            region_t *region = &self->regions [index];
            if (!region->live && !region->active && !region->defaults && !region->claimed)
                break;
        }
        if (index == self->region_count)
            return -1;
    }
    region_t *region = &self->regions [index];
    snprintf (region->name, sizeof (region->name), "%s", name);
    region->used = true;
    region->defaults = false;
    region->live = 0;
    region->cursor = 0;
    if (!region->schedule) {
        region->schedule = sq_heap_new ();
        region->free_probe = NONE;
        assert (region->schedule);
    }
    return index;
}


//  --------------------------------------------------------------------------
//  Probes

static void
s_schedule (job_book_t *self, uint32_t handle, int64_t at)
{
    s_probe (self, handle)->at = at;
    int rc = sq_heap_set (self->regions [s_handle_region (handle)].schedule,
                          handle & PROBE_INDEX_MAX, at);
    assert (rc == 0);
    (void) rc;
}

//  When a new probe of site is first due.
static int64_t
s_first_due (job_book_t *self, const site_t *site, int64_t now)
{
    if (self->rules.once)
        return now;
    return site->first_at >= now ? site->first_at : now + site->offset_ms;
}

//  A new IDLE probe of the site at index, in region, due at.
static void
s_probe_add (job_book_t *self, uint32_t site_index, int region_index, int64_t at)
{
    region_t *region = &self->regions [region_index];
    uint32_t index = region->free_probe;
    if (index != NONE)
        region->free_probe = region->probes [index].next;
    else {
        if (region->probe_count == region->probe_cap) {
            uint32_t cap = region->probe_cap ? region->probe_cap * 2 : 64;
            probe_t *probes = (probe_t *) realloc (region->probes, cap * sizeof (probe_t));
            assert (probes);
            region->probes = probes;
            region->probe_cap = cap;
        }
        index = region->probe_count++;
        assert (index < PROBE_INDEX_MAX);
    }
    site_t *site = &self->sites [site_index];
    probe_t *probe = &region->probes [index];
    memset (probe, 0, sizeof (*probe));
    probe->site = site_index;
    probe->pinger = -1;
    probe->avoid = -1;
    probe->phase = PHASE_IDLE;
    probe->round = at;
    probe->active = true;
    uint32_t handle = s_handle (region_index, index);
    probe->next = site->first_probe;
    site->first_probe = handle;
    region->active++;
    self->counters [JOB_BOOK_probes]++;
    s_schedule (self, handle, at);
}

//  The probe's current job is no longer expected from its pinger.
static void
s_release_job (job_book_t *self, probe_t *probe)
{
    if (probe->pinger >= 0 && self->pingers [probe->pinger].outstanding > 0)
        self->pingers [probe->pinger].outstanding--;
    probe->pinger = -1;
}

//  Forget a probe: a late DONE for its job finds nothing (stale).
static void
s_probe_remove (job_book_t *self, uint32_t handle)
{
    region_t *region = &self->regions [s_handle_region (handle)];
    uint32_t index = handle & PROBE_INDEX_MAX;
    probe_t *probe = &region->probes [index];
    assert (probe->active);
    s_release_job (self, probe);
    sq_heap_remove (region->schedule, index);
    site_t *site = &self->sites [probe->site];
    uint32_t *link = &site->first_probe;
    while (*link != handle) {
        assert (*link != NONE);
        link = &s_probe (self, *link)->next;
    }
    *link = probe->next;
    probe->active = false;
    probe->next = region->free_probe;
    region->free_probe = index;
    region->active--;
    self->counters [JOB_BOOK_probes]--;
}

//  The site's probe in region, or NONE.
static uint32_t
s_site_probe (job_book_t *self, const site_t *site, int region)
{
    for (uint32_t handle = site->first_probe; handle != NONE;
         handle = s_probe (self, handle)->next)
        if (s_handle_region (handle) == region)
            return handle;
    return NONE;
}

//  A region gained its first live pinger: sites of every region get a
//  probe there, and regions of the kept default set that have no live
//  pinger lose theirs.  O(sites), on this rare event only.
static void
s_region_up (job_book_t *self, int region_index, int64_t now)
{
    region_t *region = &self->regions [region_index];
    if (!region->defaults) {
        region->defaults = true;
        for (uint32_t index = 0; index < self->site_count; index++) {
            site_t *site = &self->sites [index];
            if (site->active && site->every_region
            &&  s_site_probe (self, site, region_index) == NONE)
                s_probe_add (self, index, region_index, s_first_due (self, site, now));
        }
    }
    for (int other = 0; other < self->region_count; other++) {
        region_t *dead = &self->regions [other];
        if (other == region_index || !dead->defaults || dead->live)
            continue;
        dead->defaults = false;
        for (uint32_t index = 0; index < dead->probe_count; index++) {
            probe_t *probe = &dead->probes [index];
            if (probe->active && self->sites [probe->site].every_region)
                s_probe_remove (self, s_handle (other, index));
        }
    }
}

//  A region lost its last live pinger: sites of every region lose their
//  probe there, unless no region has a live pinger any more (then the set
//  is kept and waits, as a lone hub's site always did).  O(region's probes).
static void
s_region_down (job_book_t *self, int region_index)
{
    bool others = false;
    for (int other = 0; other < self->region_count && !others; other++)
        others = self->regions [other].live > 0;
    region_t *region = &self->regions [region_index];
    if (!others || !region->defaults)
        return;
    region->defaults = false;
    for (uint32_t index = 0; index < region->probe_count; index++) {
        probe_t *probe = &region->probes [index];
        if (probe->active && self->sites [probe->site].every_region)
            s_probe_remove (self, s_handle (region_index, index));
    }
}


//  --------------------------------------------------------------------------
//  Sites

//  Where the id table's search for site_id starts (a 64-bit mix, so that
//  ids that step by a power of two still spread).
static uint32_t
s_id_home (uint64_t site_id, uint32_t mask)
{
    site_id ^= site_id >> 33;
    site_id *= 0xff51afd7ed558ccdULL;
    site_id ^= site_id >> 33;
    return (uint32_t) site_id & mask;
}

//  The entry holding site_id, or the empty entry where it would go.
static id_entry_t *
s_id_entry (job_book_t *self, uint64_t site_id)
{
    uint32_t mask = self->id_cap - 1;
    uint32_t at = s_id_home (site_id, mask);
    while (self->ids [at].id && self->ids [at].id != site_id)
        at = (at + 1) & mask;
    return &self->ids [at];
}

static uint32_t
s_site_of (job_book_t *self, uint64_t site_id)
{
    if (!self->id_cap)
        return NONE;
    id_entry_t *entry = s_id_entry (self, site_id);
    return entry->id ? entry->slot : NONE;
}

//  Record site_id at slot (an id not in the table); the table doubles
//  before it is more than half full.
static void
s_id_insert (job_book_t *self, uint64_t site_id, uint32_t slot)
{
    assert (site_id);
    if ((self->id_count + 1) * 2 > self->id_cap) {
        id_entry_t *old = self->ids;
        uint32_t old_cap = self->id_cap;
        self->id_cap = old_cap ? old_cap * 2 : ID_TABLE_MIN;
        self->ids = (id_entry_t *) calloc (self->id_cap, sizeof (id_entry_t));
        assert (self->ids);
        for (uint32_t at = 0; at < old_cap; at++)
            if (old [at].id)
                *s_id_entry (self, old [at].id) = old [at];
        free (old);
    }
    id_entry_t *entry = s_id_entry (self, site_id);
    assert (!entry->id);
    entry->id = site_id;
    entry->slot = slot;
    self->id_count++;
}

//  Forget site_id: the entries after it that could sit in its place move
//  back, so that every search still meets its id before an empty entry.
static void
s_id_delete (job_book_t *self, uint64_t site_id)
{
    if (!self->id_cap)
        return;
    id_entry_t *entry = s_id_entry (self, site_id);
    if (!entry->id)
        return;
    uint32_t mask = self->id_cap - 1;
    uint32_t hole = (uint32_t) (entry - self->ids);
    for (uint32_t next = (hole + 1) & mask; self->ids [next].id; next = (next + 1) & mask) {
        uint32_t home = s_id_home (self->ids [next].id, mask);
        //  It may move back unless its home lies after the hole.
        if (((next - home) & mask) >= ((next - hole) & mask)) {
            self->ids [hole] = self->ids [next];
            hole = next;
        }
    }
    self->ids [hole].id = 0;
    self->id_count--;
}

static void
s_site_configure (job_book_t *self, site_t *site, const job_site_t *check)
{
    self->string_bytes -= malloc_usable_size (site->check.url)
                        + malloc_usable_size (site->check.keyword);
    free (site->check.url);
    free (site->check.keyword);
    site->check = *check;
    site->check.url = strdup (check->url);
    site->check.keyword = check->keyword && *check->keyword ? strdup (check->keyword) : NULL;
    site->check.regions = NULL;
    assert (site->check.url);
    self->string_bytes += malloc_usable_size (site->check.url)
                        + malloc_usable_size (site->check.keyword);
}

//  Parse "eu, us" into region indices (interned, no duplicates); returns
//  how many, and counts in *unplaced the names the table had no room for.
static int
s_regions_parse (job_book_t *self, const char *list, int *wanted, int *unplaced)
{
    int count = 0;
    *unplaced = 0;
    while (list && *list) {
        const char *end = strchr (list, ',');
        size_t size = end ? (size_t) (end - list) : strlen (list);
        const char *start = list;
        list = end ? end + 1 : NULL;
        while (size && *start == ' ') {
            start++;
            size--;
        }
        while (size && start [size - 1] == ' ')
            size--;
        if (size == 0 || size > SQ_NAME_MAX || count == SQ_REGIONS_MAX)
            continue;
        char name [SQ_NAME_MAX + 1];
        memcpy (name, start, size);
        name [size] = '\0';
        int region = s_region_intern (self, name);
        if (region < 0) {
            (*unplaced)++;
            continue;
        }
        if (!self->regions [region].claimed)
            wanted [count++] = region;
        self->regions [region].claimed = true;
    }
    for (int at = 0; at < count; at++)
        self->regions [wanted [at]].claimed = false;
    return count;
}

//  Give the site at index exactly the probes it should have: one per
//  region named, or one per region of the default set.
static void
s_site_reconcile (job_book_t *self, uint32_t index, const int *wanted, int count, int64_t now)
{
    bool want [JOB_BOOK_REGIONS_MAX] = { false };
    site_t *site = &self->sites [index];
    if (site->every_region)
        for (int region = 0; region < self->region_count; region++)
            want [region] = self->regions [region].defaults;
    else
        for (int at = 0; at < count; at++)
            want [wanted [at]] = true;
    uint32_t handle = site->first_probe;
    while (handle != NONE) {
        uint32_t next = s_probe (self, handle)->next;
        if (want [s_handle_region (handle)])
            want [s_handle_region (handle)] = false;    //  has it
        else
            s_probe_remove (self, handle);
        handle = next;
    }
    for (int region = 0; region < self->region_count; region++)
        if (want [region])
            s_probe_add (self, index, region, s_first_due (self, site, now));
}

void
job_book_sites_begin (job_book_t *self)
{
    for (uint32_t index = 0; index < self->site_count; index++)
        self->sites [index].listed = false;
}

int
job_book_site_put (job_book_t *self, const job_site_t *check, int64_t now,
                   uint32_t first_offset_ms)
{
    assert (check->site_id && check->url);
    int wanted [SQ_REGIONS_MAX];
    int unplaced;
    int count = s_regions_parse (self, check->regions, wanted, &unplaced);
    self->counters [JOB_BOOK_unplaced] += (uint64_t) unplaced;
    uint32_t index = s_site_of (self, check->site_id);
    if (index != NONE) {
        site_t *site = &self->sites [index];
        uint32_t old_interval = site->check.interval_ms;
        s_site_configure (self, site, check);
        site->listed = true;
        site->every_region = count == 0 && unplaced == 0;
        site->offset_ms = first_offset_ms;
        //  A new interval takes effect from the current round.
        for (uint32_t handle = site->first_probe; handle != NONE && old_interval !=
             check->interval_ms; handle = s_probe (self, handle)->next) {
            probe_t *probe = s_probe (self, handle);
            if (probe->phase == PHASE_IDLE) {
                int64_t at = probe->round - old_interval + check->interval_ms;
                probe->round = at > now ? at : now;
                s_schedule (self, handle, probe->round);
            }
        }
        s_site_reconcile (self, index, wanted, count, now);
        return unplaced;
    }
    if (self->free_site != NONE) {
        index = self->free_site;
        self->free_site = self->sites [index].first_probe;
    }
    else {
        if (self->site_count == self->site_cap) {
            uint32_t cap = self->site_cap ? self->site_cap * 2 : 1024;
            site_t *sites = (site_t *) realloc (self->sites, cap * sizeof (site_t));
            assert (sites);
            self->sites = sites;
            self->site_cap = cap;
        }
        index = self->site_count++;
    }
    site_t *site = &self->sites [index];
    memset (site, 0, sizeof (*site));
    s_site_configure (self, site, check);
    site->active = true;
    site->listed = true;
    site->every_region = count == 0 && unplaced == 0;
    site->first_probe = NONE;
    site->offset_ms = first_offset_ms;
    site->first_at = self->rules.once ? now : now + first_offset_ms;
    s_id_insert (self, check->site_id, index);
    s_site_reconcile (self, index, wanted, count, now);
    return unplaced;
}

void
job_book_sites_end (job_book_t *self)
{
    for (uint32_t index = 0; index < self->site_count; index++) {
        site_t *site = &self->sites [index];
        if (!site->active || site->listed)
            continue;
        //  Dropped from the list: forget it; a late DONE finds no site.
        while (site->first_probe != NONE)
            s_probe_remove (self, site->first_probe);
        s_id_delete (self, site->check.site_id);
        s_site_forget (self, site);
        site->first_probe = self->free_site;
        self->free_site = index;
    }
}

size_t
job_book_site_count (job_book_t *self)
{
    return self->id_count;
}

const job_site_t *
job_book_site (job_book_t *self, uint64_t site_id)
{
    uint32_t index = s_site_of (self, site_id);
    return index == NONE ? NULL : &self->sites [index].check;
}

int64_t
job_book_site_at (job_book_t *self, uint64_t site_id)
{
    uint32_t index = s_site_of (self, site_id);
    int64_t earliest = -1;
    for (uint32_t handle = index == NONE ? NONE : self->sites [index].first_probe;
         handle != NONE; handle = s_probe (self, handle)->next) {
        probe_t *probe = s_probe (self, handle);
        if (probe->phase != PHASE_FINISHED && (earliest < 0 || probe->at < earliest))
            earliest = probe->at;
    }
    return earliest;
}

int64_t
job_book_probe_at (job_book_t *self, uint64_t site_id, const char *region)
{
    uint32_t index = s_site_of (self, site_id);
    int region_index = s_region_find (self, region ? region : "");
    if (index == NONE || region_index < 0)
        return -1;
    uint32_t handle = s_site_probe (self, &self->sites [index], region_index);
    if (handle == NONE || s_probe (self, handle)->phase == PHASE_FINISHED)
        return -1;
    return s_probe (self, handle)->at;
}

int
job_book_site_probes (job_book_t *self, uint64_t site_id)
{
    uint32_t index = s_site_of (self, site_id);
    int count = 0;
    for (uint32_t handle = index == NONE ? NONE : self->sites [index].first_probe;
         handle != NONE; handle = s_probe (self, handle)->next)
        count++;
    return count;
}


//  --------------------------------------------------------------------------
//  Pingers and credit

int
job_book_pinger_find (job_book_t *self, const char *id)
{
    for (int index = 0; index < self->pinger_count; index++)
        if (streq (self->pingers [index].id, id))
            return index;
    return -1;
}

bool
job_book_pinger_key_check (job_book_t *self, const char *id, const char *key)
{
    int index = job_book_pinger_find (self, id);
    return index < 0 || strncmp (self->pingers [index].key, key ? key : "",
                                 JOB_BOOK_KEY_MAX) == 0;
}

pinger_event_t
job_book_pinger_message (job_book_t *self, const char *id, bool ready, uint32_t slots,
                         int64_t now)
{
    return job_book_pinger_message_keyed (self, id, "", "", ready, slots, now);
}

pinger_event_t
job_book_pinger_message_keyed (job_book_t *self, const char *id, const char *key,
                               const char *region_name, bool ready, uint32_t slots, int64_t now)
{
    region_name = region_name ? region_name : "";
    pinger_event_t event = PINGER_SEEN;
    int index = job_book_pinger_find (self, id);
    if (index >= 0 && self->pingers [index].alive
    &&  !streq (self->regions [self->pingers [index].region].name, region_name))
        //  Speaks from another region now: gone from the old one.
        job_book_pinger_gone (self, index, now);
    int region = -1;
    if (index < 0 || !self->pingers [index].alive) {
        region = s_region_intern (self, region_name);
        if (region < 0)
            return PINGER_REFUSED;
    }
    if (index < 0) {
        if (self->pinger_count == JOB_BOOK_PINGERS_MAX)
            return PINGER_REFUSED;
        index = self->pinger_count++;
        memset (&self->pingers [index], 0, sizeof (job_pinger_t));
        snprintf (self->pingers [index].id, sizeof (self->pingers [index].id), "%s", id);
        snprintf (self->pingers [index].key, sizeof (self->pingers [index].key), "%s",
                  key ? key : "");
        event = PINGER_JOINED;
    }
    job_pinger_t *pinger = &self->pingers [index];
    if (!pinger->alive) {
        //  New, or back from the dead: start afresh.
        if (event == PINGER_SEEN)
            event = PINGER_BACK;
        pinger->credit = 0;
        pinger->outstanding = 0;
        pinger->region = region;
        pinger->alive = true;
        pinger->quarantined = false;
        if (self->regions [region].live++ == 0)
            s_region_up (self, region, now);
    }
    pinger->last_seen = now;
    if (ready)
        pinger->credit += slots;
    else
    if (pinger->outstanding == 0)
        pinger->credit = slots;     //  nothing can be on its way: resync
    return event;
}

void
job_book_pinger_gone (job_book_t *self, int index, int64_t now)
{
    assert (index >= 0 && index < self->pinger_count);
    job_pinger_t *pinger = &self->pingers [index];
    if (!pinger->alive)
        return;
    pinger->alive = false;
    pinger->credit = 0;
    pinger->outstanding = 0;
    self->counters [JOB_BOOK_gone]++;
    //  Its jobs will not come back: each is due again now (attempt + 1).
    //  They can only be probes of its region.
    region_t *region = &self->regions [pinger->region];
    for (uint32_t at = 0; at < region->probe_count; at++) {
        probe_t *probe = &region->probes [at];
        if (probe->active && probe->phase == PHASE_IN_FLIGHT && probe->pinger == index) {
            //  Its outstanding count is already gone with it: nothing to
            //  release later, but its resend should go elsewhere.
            probe->pinger = -1;
            probe->avoid = (int16_t) index;
            s_schedule (self, s_handle (pinger->region, at), now);
        }
    }
    if (--region->live == 0)
        s_region_down (self, pinger->region);
}

int
job_book_expire_silent (job_book_t *self, int64_t now)
{
    for (int index = 0; index < self->pinger_count; index++) {
        job_pinger_t *pinger = &self->pingers [index];
        if (pinger->alive && now - pinger->last_seen > self->rules.pinger_silence_ms) {
            job_book_pinger_gone (self, index, now);
            return index;
        }
    }
    return -1;
}

const job_pinger_t *
job_book_pinger (job_book_t *self, int index)
{
    return index >= 0 && index < self->pinger_count ? &self->pingers [index] : NULL;
}

const char *
job_book_pinger_region (job_book_t *self, int index)
{
    return index >= 0 && index < self->pinger_count
         ? self->regions [self->pingers [index].region].name : NULL;
}

int
job_book_pingers_alive (job_book_t *self)
{
    int alive = 0;
    for (int index = 0; index < self->pinger_count; index++)
        alive += self->pingers [index].alive;
    return alive;
}

int
job_book_region_alive (job_book_t *self, const char *region)
{
    int index = s_region_find (self, region ? region : "");
    return index < 0 ? 0 : self->regions [index].live;
}

//  A pinger of region with credit, -1 if none.  In order of preference:
//  a healthy one other than avoid; on the region's probation turn (one
//  send in JOB_BOOK_PROBATION), a quarantined one other than avoid, so it
//  can prove itself again; a quarantined one other than avoid; avoid
//  itself.  Does not move the round-robin cursor: only a send does.
static int
s_pinger_choose (job_book_t *self, int region, int avoid)
{
    int healthy = -1, quarantined = -1, fallback = -1;
    for (int step = 0; step < self->pinger_count; step++) {
        int index = (self->regions [region].cursor + step) % self->pinger_count;
        job_pinger_t *pinger = &self->pingers [index];
        if (!pinger->alive || pinger->region != region || pinger->credit <= 0)
            continue;
        if (index == avoid)
            fallback = index;
        else
        if (pinger->quarantined) {
            if (quarantined < 0)
                quarantined = index;
        }
        else
        if (healthy < 0)
            healthy = index;
    }
    bool probation = self->regions [region].sends % JOB_BOOK_PROBATION == 0;
    if (quarantined >= 0 && (probation || healthy < 0))
        return quarantined;
    return healthy >= 0 ? healthy : fallback;
}

//  Marks in credit [] each region with a live pinger that has credit.
static void
s_regions_with_credit (job_book_t *self, bool *credit)
{
    memset (credit, 0, JOB_BOOK_REGIONS_MAX * sizeof (bool));
    for (int index = 0; index < self->pinger_count; index++)
        if (self->pingers [index].alive && self->pingers [index].credit > 0)
            credit [self->pingers [index].region] = true;
}


//  --------------------------------------------------------------------------
//  Jobs

//  IDLE again, due at the next round: one interval after this round was
//  due, unless that moment has passed already.
static void
s_next_round (job_book_t *self, uint32_t handle, int64_t now)
{
    probe_t *probe = s_probe (self, handle);
    probe->phase = PHASE_IDLE;
    probe->avoid = -1;
    probe->round += self->sites [probe->site].check.interval_ms;
    if (probe->round < now)
        probe->round = now;
    s_schedule (self, handle, probe->round);
}

job_action_t
job_book_next (job_book_t *self, int64_t now, job_t *job)
{
    bool credit [JOB_BOOK_REGIONS_MAX];
    s_regions_with_credit (self, credit);
    //  Each region's earliest probe; the earliest of those that can go.
    uint32_t handle = NONE;
    int64_t earliest = 0;
    for (int region = 0; region < self->region_count; region++) {
        uint32_t index;
        int64_t at;
        if (!self->regions [region].schedule
        ||  !sq_heap_peek (self->regions [region].schedule, &index, &at) || at > now)
            continue;
        probe_t *probe = &self->regions [region].probes [index];
        if (probe->phase == PHASE_IN_FLIGHT && probe->attempt >= self->rules.max_attempts) {
            //  The deadline passed again and again with no DONE.
            memset (job, 0, sizeof (*job));
            job->probe = s_handle (region, index);
            job->site = &self->sites [probe->site].check;
            job->region = self->regions [region].name;
            job->job_id = probe->job_id;
            job->attempt = probe->attempt;
            job->pinger = -1;
            self->counters [JOB_BOOK_abandoned]++;
            s_release_job (self, probe);
            s_next_round (self, job->probe, now);
            return JOB_ABANDONED;
        }
        if (credit [region] && (handle == NONE || at < earliest)) {
            handle = s_handle (region, index);
            earliest = at;
        }
    }
    if (handle == NONE)
        return JOB_NONE;        //  nobody of a due probe's region has credit: it stays due
    int region = s_handle_region (handle);
    probe_t *probe = s_probe (self, handle);
    bool resend = probe->phase == PHASE_IN_FLIGHT;
    //  A resend goes to another pinger when one has credit; so does a
    //  recheck DONE asked to keep from a pinger.
    int avoid = resend && probe->pinger >= 0 ? probe->pinger : probe->avoid;
    int pinger = s_pinger_choose (self, region, avoid);
    assert (pinger >= 0);       //  the region has credit
    memset (job, 0, sizeof (*job));
    job->probe = handle;
    job->site = &self->sites [probe->site].check;
    job->region = self->regions [region].name;
    job->job_id = resend ? probe->job_id : self->last_job + 1;
    job->attempt = resend ? probe->attempt + 1 : 1;
    job->pinger = pinger;
    job->pinger_id = self->pingers [pinger].id;
    job->resend = resend;
    job->due = earliest;
    return JOB_SEND;
}

void
job_book_sent (job_book_t *self, const job_t *job, int64_t now)
{
    probe_t *probe = s_probe (self, job->probe);
    job_pinger_t *pinger = &self->pingers [job->pinger];
    pinger->credit--;
    pinger->outstanding++;
    s_release_job (self, probe);        //  a resend: the old pinger is let off
    probe->pinger = (int16_t) job->pinger;
    probe->avoid = -1;
    probe->job_id = job->job_id;
    probe->attempt = job->attempt;
    probe->phase = PHASE_IN_FLIGHT;
    if (job->job_id > self->last_job)
        self->last_job = job->job_id;
    self->regions [s_handle_region (job->probe)].cursor = (job->pinger + 1) % self->pinger_count;
    self->regions [s_handle_region (job->probe)].sends++;
    s_schedule (self, job->probe, now + job->site->timeout_ms + self->rules.deadline_margin_ms);
    self->counters [JOB_BOOK_jobs]++;
    if (job->resend)
        self->counters [JOB_BOOK_resends]++;
}

void
job_book_unroutable (job_book_t *self, const job_t *job, int64_t now)
{
    self->counters [JOB_BOOK_unroutable]++;
    job_book_pinger_gone (self, job->pinger, now);
}

int
job_book_done (job_book_t *self, const sq_done_t *done, int64_t now)
{
    //  The collector's word on the pinger's health holds even for a
    //  stale job.
    int checker = *done->pinger ? job_book_pinger_find (self, done->pinger) : -1;
    if (checker >= 0 && self->pingers [checker].quarantined != done->quarantined) {
        self->pingers [checker].quarantined = done->quarantined;
        self->counters [done->quarantined ? JOB_BOOK_quarantined : JOB_BOOK_released]++;
    }
    uint32_t index = s_site_of (self, done->site_id);
    uint32_t handle = index == NONE ? NONE : self->sites [index].first_probe;
    while (handle != NONE) {
        probe_t *probe = s_probe (self, handle);
        if (probe->phase == PHASE_IN_FLIGHT && probe->job_id == done->job_id)
            break;
        handle = probe->next;
    }
    if (handle == NONE) {
        self->counters [JOB_BOOK_stale]++;
        return -1;
    }
    probe_t *probe = s_probe (self, handle);
    self->counters [JOB_BOOK_done]++;
    s_release_job (self, probe);
    if (done->recheck) {
        probe->phase = PHASE_IDLE;
        probe->round = now + done->delay_ms;
        int avoid = *done->avoid ? job_book_pinger_find (self, done->avoid) : -1;
        probe->avoid = (int16_t) avoid;
        s_schedule (self, handle, probe->round);
    }
    else
    if (self->rules.once) {
        probe->phase = PHASE_FINISHED;
        probe->avoid = -1;
        sq_heap_remove (self->regions [s_handle_region (handle)].schedule,
                        handle & PROBE_INDEX_MAX);
        self->counters [JOB_BOOK_finished]++;
    }
    else
        s_next_round (self, handle, now);
    return 0;
}

int64_t
job_book_wake_at (job_book_t *self)
{
    bool credit [JOB_BOOK_REGIONS_MAX];
    s_regions_with_credit (self, credit);
    int64_t earliest = INT64_MAX;
    for (int region = 0; region < self->region_count; region++) {
        uint32_t index;
        int64_t at;
        if (credit [region] && sq_heap_peek (self->regions [region].schedule, &index, &at)
        &&  at < earliest)
            earliest = at;
    }
    return earliest;
}

size_t
job_book_bytes (job_book_t *self)
{
    size_t bytes = sizeof (job_book_t) + self->site_cap * sizeof (site_t)
                 + self->id_cap * sizeof (id_entry_t) + self->string_bytes;
    for (int index = 0; index < self->region_count; index++)
        bytes += self->regions [index].probe_cap * sizeof (probe_t)
               + sq_heap_bytes (self->regions [index].schedule);
    return bytes;
}

const uint64_t *
job_book_counters (job_book_t *self)
{
    self->counters [JOB_BOOK_bytes] = job_book_bytes (self);
    return self->counters;
}
