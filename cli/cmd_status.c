/*  cmd_status.c: `squirrel status CONFIG`, every site's state from the
    store: state, uptime over 24 h, 7 d and 30 d, last check and reason,
    and for a site checked from regions each region's latest verdict, or
    "unavailable" when that verdict no longer counts.  Reads the store
    beside a running `squirrel run` (SQLite WAL).  When the store writer
    says (store_health) that the store is behind, a full disk say, a first
    line says since when: what follows may be out of date.
*/
#include "commands.h"
#include "config.h"
#include "outbox.h"
#include "sq_defaults.h"
#include "sq_json.h"
#include "sq_url.h"
#include "store.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <unistd.h>
#include <string.h>
#include <time.h>

static const char s_usage [] =
    "usage: squirrel status [OPTIONS] CONFIG\n"
    "       squirrel status [--json] --api URL\n"
    "\n"
    "Print every site of CONFIG's store: state, uptime % over 24 h, 7 d and\n"
    "30 d, the last check and its reason, and for a site checked from regions\n"
    "each region's last verdict (eu:up, us:down(timeout), or eu:unavailable\n"
    "when it is older than two intervals, the timeout and 5 s); then the\n"
    "pingers the hub has heard from and those in quarantine (their own network\n"
    "judged broken; with --json, an object {\"pingers\": [...]}); then the\n"
    "notifications delivered, failed and pending per channel (with --json, a\n"
    "last object\n"
    "{\"notifications\": {CHANNEL: {\"delivered\": N, \"failed\": N, \"pending\": N}}}).\n"
    "When the store is behind (its disk full, say), a first line says since\n"
    "when (with --json, a first object {\"store\": {\"stale\": true, \"since\":\n"
    "TIME, \"why\": TEXT}}; {\"store\": {\"stale\": false}} otherwise).\n"
    "\n"
    "options:\n"
    "  --json       one JSON object per site\n"
    "  --api URL    ask a running hub's HTTP API instead (e.g. http://127.0.0.1:8080):\n"
    "               every site with its state, uptime, last check and source\n"
    "  -h, --help   this text\n";

static void
s_uptime (double value, char *out, size_t size)
{
    if (value < 0)
        snprintf (out, size, "-");
    else
        snprintf (out, size, "%.2f%%", value);
}

//  ,"NAME":PERCENT with three decimals, or ,"NAME":null for -1 (no data).
static void
s_json_uptime (char **line, size_t *length, const char *name, double value)
{
    if (value < 0)
        sq_json_appendf (line, length, ",\"%s\":null", name);
    else
        sq_json_appendf (line, length, ",\"%s\":%.3f", name, value);
}

typedef struct {
    bool json;                  //  --json
    store_t *store;             //  for each site's regions
    const config_t *config;     //  for each site's freshness window
    zhashx_t *sites;            //  the config's sites by URL (borrowed config_site_t *)
    int64_t now_us;             //  when status reads, unix µs
    int64_t fresh_us;           //  freshness window of the row being printed
    char *regions;              //  the regions of the row being printed (sq_json buffer)
    size_t length;              //  its length
    size_t count;               //  regions in it
} printer_t;

//  How long a region's latest verdict counts for a site, as the collector
//  judges it: two intervals plus the timeout plus the margin the
//  dispatcher gives a check, from the site's entry in the config, or from
//  the defaults for a site the config does not list (any more).
static int64_t
s_fresh_us (printer_t *printer, const char *url)
{
    const config_site_t *site = (const config_site_t *) zhashx_lookup (printer->sites, url);
    if (!site)
        site = &printer->config->defaults;
    return ((int64_t) site->interval_ms * 2 + site->timeout_ms + SQ_DEADLINE_MARGIN_MS) * 1000;
}

//  One region's latest verdict: " eu:up", " us:down(timeout)", or
//  " eu:unavailable" when the verdict is older than the site's freshness
//  window (the region's pingers are gone, and the collector no longer
//  counts it).  In JSON "eu":{"name":"eu","state":"up","up":true,
//  "reason":"ok","at":"...","uptime_24h":..,"uptime_7d":..,"uptime_30d":..},
//  up, reason and at being those of the latest verdict in every state.
static void
s_region (const store_region_t *region, void *arg)
{
    printer_t *printer = (printer_t *) arg;
    const char *name = *region->region ? region->region : "-";
    bool available = printer->now_us - region->at_us <= printer->fresh_us;
    const char *state = !available ? "unavailable" : region->up ? "up" : "down";
    if (printer->json) {
        char **line = &printer->regions;
        size_t *length = &printer->length;
        char at [40];
        sq_time_iso (region->at_us, at, sizeof (at));
        sq_json_appendf (line, length, "%s", printer->count ? "," : "");
        sq_json_append_string (line, length, name);
        sq_json_appendf (line, length, ":{\"name\":");
        sq_json_append_string (line, length, name);
        sq_json_appendf (line, length, ",\"state\":\"%s\",\"up\":%s,\"reason\":\"%s\",\"at\":\"%s\"",
                         state, region->up ? "true" : "false", sq_reason_name (region->reason), at);
        s_json_uptime (line, length, "uptime_24h", region->uptime_24h);
        s_json_uptime (line, length, "uptime_7d", region->uptime_7d);
        s_json_uptime (line, length, "uptime_30d", region->uptime_30d);
        sq_json_appendf (line, length, "}");
    }
    else
    if (available && !region->up)
        sq_json_appendf (&printer->regions, &printer->length, " %s:down(%s)", name,
                         sq_reason_name (region->reason));
    else
        sq_json_appendf (&printer->regions, &printer->length, " %s:%s", name, state);
    printer->count++;
}

static void
s_print_row (const store_status_t *row, void *arg)
{
    printer_t *printer = (printer_t *) arg;
    bool json = printer->json;
    //  Each region's latest verdict, when it was checked from a named region.
    free (printer->regions);
    printer->regions = NULL;
    printer->length = printer->count = 0;
    printer->fresh_us = s_fresh_us (printer, row->url);
    store_site_regions (printer->store, row->id, printer->now_us, s_region, printer);
    bool regional = printer->count > 1 || (printer->count == 1 && *row->last_region);
    char url [SQ_URL_MAX + 1];
    sq_url_shown (row->url, url, sizeof (url));
    char last [40] = "never";
    if (row->last_check_us)
        sq_time_iso (row->last_check_us, last, sizeof (last));
    if (json) {
        char *line = NULL;
        size_t length = 0;
        sq_json_appendf (&line, &length, "{\"url\":");
        sq_json_append_string (&line, &length, url);
        sq_json_appendf (&line, &length, ",\"owner\":");
        sq_json_append_string (&line, &length, row->owner);
        sq_json_appendf (&line, &length, ",\"state\":\"%s\"", sq_state_name (row->state));
        s_json_uptime (&line, &length, "uptime_24h", row->uptime_24h);
        s_json_uptime (&line, &length, "uptime_7d", row->uptime_7d);
        s_json_uptime (&line, &length, "uptime_30d", row->uptime_30d);
        //  The share of time it was not down by quorum (no incident open).
        s_json_uptime (&line, &length, "quorum_uptime_24h", row->quorum_uptime_24h);
        s_json_uptime (&line, &length, "quorum_uptime_7d", row->quorum_uptime_7d);
        s_json_uptime (&line, &length, "quorum_uptime_30d", row->quorum_uptime_30d);
        if (row->last_check_us)
            sq_json_appendf (&line, &length, ",\"last_check\":\"%s\",\"reason\":\"%s\",\"status\":%u",
                             last, sq_reason_name (row->last_reason), row->last_status);
        else
            sq_json_appendf (&line, &length, ",\"last_check\":null,\"reason\":null,\"status\":null");
        //  Which pinger, from which region, made the latest check.
        sq_json_appendf (&line, &length, ",\"pinger\":");
        sq_json_append_string (&line, &length, row->last_pinger);
        sq_json_appendf (&line, &length, ",\"region\":");
        sq_json_append_string (&line, &length, row->last_region);
        sq_json_appendf (&line, &length, ",\"regions\":{%s}}",
                         regional && printer->regions ? printer->regions : "");
        puts (line);
        free (line);
        return;
    }
    char day [16], week [16], month [16];
    s_uptime (row->uptime_24h, day, sizeof (day));
    s_uptime (row->uptime_7d, week, sizeof (week));
    s_uptime (row->uptime_30d, month, sizeof (month));
    printf ("%-8s %8s %8s %8s  %-24s  %-11s  %-16s  %s%s\n", sq_state_name (row->state), day,
            week, month, last, row->last_check_us ? sq_reason_name (row->last_reason) : "-",
            *row->last_region ? row->last_region : "-", url,
            regional && printer->regions ? printer->regions : "");
}

//  The pingers and their standing, from the collector's pingers.json (made
//  every 5 s while `run` runs): one line "pingers: ..." or, with json, one
//  object {"pingers": [...], "at": TIME, "stale": BOOL}.  Nothing when there
//  is no such file (a hub without pingers yet, or never run).  0, or -1
//  when the file cannot be read as ours.
static int
s_print_pingers (const char *data_dir, bool json, int64_t now_us)
{
    char *path = zsys_sprintf ("%s/%s", data_dir, "pingers.json");
    json_error_t error;
    json_t *root = json_load_file (path, JSON_REJECT_DUPLICATES, &error);
    if (!root && errno == ENOENT && access (path, F_OK) != 0) {
        zstr_free (&path);
        return 0;
    }
    json_t *pingers = root ? json_object_get (root, "pingers") : NULL;
    json_t *at = root ? json_object_get (root, "at") : NULL;
    if (!json_is_array (pingers) || !json_is_integer (at)) {
        fprintf (stderr, "squirrel status: %s: %s\n", path,
                 root ? "not a pinger list" : error.text);
        json_decref (root);
        zstr_free (&path);
        return -1;
    }
    zstr_free (&path);
    //  The collector writes it every 5 s: older than 30 s, the hub is not
    //  running (or not writing), and the standing shown may be out of date.
    bool stale = now_us - json_integer_value (at) > 30 * INT64_C (1000000);
    char when [32];
    sq_time_iso (json_integer_value (at), when, sizeof (when));
    char *line = NULL;
    size_t length = 0;
    if (json)
        sq_json_appendf (&line, &length, "{\"pingers\":[");
    else
        sq_json_appendf (&line, &length, "pingers:");
    size_t quarantined = 0;
    for (size_t index = 0; index < json_array_size (pingers); index++) {
        json_t *pinger = json_array_get (pingers, index);
        const char *id = json_string_value (json_object_get (pinger, "id"));
        const char *region = json_string_value (json_object_get (pinger, "region"));
        const char *state = json_string_value (json_object_get (pinger, "state"));
        json_int_t since = json_integer_value (json_object_get (pinger, "since"));
        json_int_t last = json_integer_value (json_object_get (pinger, "last_result"));
        json_int_t compared = json_integer_value (json_object_get (pinger, "compared"));
        json_int_t disagreed = json_integer_value (json_object_get (pinger, "disagreed"));
        if (!id || !region || !state)
            continue;
        bool held = streq (state, "quarantined");
        quarantined += held;
        char since_text [32] = "", last_text [32] = "";
        if (since)
            sq_time_iso (since, since_text, sizeof (since_text));
        if (last)
            sq_time_iso (last, last_text, sizeof (last_text));
        if (json) {
            sq_json_appendf (&line, &length, "%s{\"id\":", index ? "," : "");
            sq_json_append_string (&line, &length, id);
            sq_json_appendf (&line, &length, ",\"region\":");
            sq_json_append_string (&line, &length, region);
            sq_json_appendf (&line, &length, ",\"state\":\"%s\"", held ? "quarantined" : "healthy");
            if (since)
                sq_json_appendf (&line, &length, ",\"since\":\"%s\"", since_text);
            else
                sq_json_appendf (&line, &length, ",\"since\":null");
            sq_json_appendf (&line, &length, ",\"last_result\":\"%s\",\"compared\":%lld,"
                             "\"disagreed\":%lld}", last_text, (long long) compared,
                             (long long) disagreed);
        }
        else
        if (held) {
            sq_json_appendf (&line, &length, " %s (%s) QUARANTINED since %s, %lld of its last "
                             "%lld compared checks failed where others saw the site up;", id,
                             *region ? region : "-", since_text, (long long) disagreed,
                             (long long) compared);
        }
    }
    if (json)
        sq_json_appendf (&line, &length, "],\"at\":\"%s\",\"stale\":%s}", when,
                         stale ? "true" : "false");
    else
        sq_json_appendf (&line, &length, " %zu known, %zu in quarantine (as of %s%s)",
                         json_array_size (pingers), quarantined, when,
                         stale ? ", stale: is the hub running?" : "");
    puts (line);
    free (line);
    json_decref (root);
    return 0;
}

//  Whether the store is behind, as its writer last said (store_health):
//  a line "store: stale since ..." when it is, nothing when not; with
//  json, always one object {"store":{"stale":BOOL[,"since":TIME,"why":TEXT]}}.
static void
s_print_store (const char *data_dir, bool json)
{
    bool stale = false;
    int64_t since = 0;
    char why [STORE_HEALTH_BYTES];
    if (store_health (data_dir, &stale, &since, why, sizeof (why)))
        fprintf (stderr, "squirrel status: cannot read %s/%s: %s\n", data_dir, STORE_HEALTH_FILE,
                 strerror (errno));
    char when [40] = "an unknown time";
    if (since && json)
        sq_time_iso (since, when, sizeof (when));
    else
    if (since) {
        time_t seconds = (time_t) (since / 1000000);
        struct tm moment;
        gmtime_r (&seconds, &moment);
        strftime (when, sizeof (when), "%Y-%m-%d %H:%M:%S UTC", &moment);
    }
    if (json) {
        char *line = NULL;
        size_t length = 0;
        sq_json_appendf (&line, &length, "{\"store\":{\"stale\":%s", stale ? "true" : "false");
        if (stale) {
            if (since)
                sq_json_appendf (&line, &length, ",\"since\":\"%s\"", when);
            else
                sq_json_appendf (&line, &length, ",\"since\":null");
            sq_json_appendf (&line, &length, ",\"why\":");
            sq_json_append_string (&line, &length, why);
        }
        sq_json_appendf (&line, &length, "}}");
        puts (line);
        free (line);
    }
    else
    if (stale)
        printf ("store: stale since %s (%s); states and uptimes below may be out of date\n",
                when, *why ? why : "writes are failing");
}

//  The outbox's counts per channel, when there is an outbox.  0, or -1.
static int
s_print_notifications (const char *data_dir, bool json)
{
    char *path = zsys_sprintf ("%s/%s", data_dir, OUTBOX_FILE_NAME);
    bool exists = access (path, R_OK) == 0;
    zstr_free (&path);
    uint64_t counts [CHANNEL_COUNT][3];
    memset (counts, 0, sizeof (counts));
    if (exists) {
        char error [512];
        outbox_t *outbox = outbox_open (data_dir, error, sizeof (error));
        int rc = outbox ? outbox_counts (outbox, counts) : -1;
        outbox_close (&outbox);
        if (rc) {
            fprintf (stderr, "squirrel status: cannot read the outbox: %s\n",
                     outbox ? "query failed" : error);
            return -1;
        }
    }
    char *line = NULL;
    size_t length = 0;
    sq_json_appendf (&line, &length, json ? "{\"notifications\":{" : "notifications:");
    bool any = false;
    for (int kind = 0; kind < CHANNEL_COUNT; kind++) {
        const uint64_t *count = counts [kind];
        if (!json && !count [OUTBOX_PENDING] && !count [OUTBOX_DELIVERED] && !count [OUTBOX_FAILED])
            continue;
        sq_json_appendf (&line, &length,
                         json ? "%s\"%s\":{\"delivered\":%llu,\"failed\":%llu,\"pending\":%llu}"
                              : "%s %s %llu delivered, %llu failed, %llu pending",
                         any ? (json ? "," : ";") : "", channel_kind_name ((channel_kind_t) kind),
                         (unsigned long long) count [OUTBOX_DELIVERED],
                         (unsigned long long) count [OUTBOX_FAILED],
                         (unsigned long long) count [OUTBOX_PENDING]);
        any = true;
    }
    if (json)
        sq_json_appendf (&line, &length, "}}");
    else
    if (!any)
        sq_json_appendf (&line, &length, " none sent yet");
    puts (line);
    free (line);
    return 0;
}

static int
s_run (int argc, char **argv)
{
    static const struct option options [] = {
        { "json", no_argument, NULL, 'j' },
        { "api",  required_argument, NULL, 'a' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    bool json = false;
    const char *api = NULL;
    int option;
    while ((option = getopt_long (argc, argv, "h", options, NULL)) != -1) {
        switch (option) {
            case 'j': json = true; break;
            case 'a': api = optarg; break;
            case 'h': fputs (s_usage, stdout); return 0;
            default: return cli_usage_error (&command_status);
        }
    }
    if (api && optind == argc)
        return cli_status_api (api, json);
    if (optind != argc - 1) {
        fprintf (stderr, "squirrel status: expected one CONFIG file%s, got %d arguments\n",
                 api ? " or --api alone" : "",
                 argc - optind);
        return cli_usage_error (&command_status);
    }
    char error [1024];
    config_t *config = config_load (argv [optind], error, sizeof (error));
    if (!config) {
        fprintf (stderr, "squirrel status: %s\n", error);
        return EXIT_USAGE;
    }
    //  A read-only command: never create a store where there is none.  A
    //  store we may not read is not a missing one: data_dir is private to
    //  the user who runs `squirrel run` (a WAL reader writes too).
    char *database = zsys_sprintf ("%s/%s", config->data_dir, STORE_FILE_NAME);
    int why = access (database, R_OK | W_OK) == 0 ? 0 : errno;
    bool exists = why == 0;
    if (why == ENOENT)
        fprintf (stderr, "squirrel status: no store at %s yet: `squirrel run %s` creates it\n",
                 database, argv [optind]);
    else
    if (why == EACCES || why == EPERM)
        fprintf (stderr, "squirrel status: permission denied: %s: run status as the user who "
                 "runs `squirrel run` (its data_dir is private)\n", database);
    else
    if (why)
        fprintf (stderr, "squirrel status: cannot open %s: %s\n", database, strerror (why));
    zstr_free (&database);
    if (!exists) {
        config_destroy (&config);
        return 1;
    }
    //  First, and before the store is opened: on a full disk it may not
    //  open, and then this is all status can say.
    s_print_store (config->data_dir, json);
    store_t *store = store_open (config->data_dir, error, sizeof (error));
    if (!store) {
        fprintf (stderr, "squirrel status: %s\n", error);
        config_destroy (&config);
        return 1;
    }
    if (!json)
        printf ("%-8s %8s %8s %8s  %-24s  %-11s  %-16s  %s\n", "STATE", "24H", "7D", "30D",
                "LAST CHECK", "REASON", "REGION", "URL");
    //  The config's sites by URL, for their freshness windows: one lookup
    //  per site, not a walk of the list (there may be 100,000).
    zhashx_t *sites = zhashx_new ();
    assert (sites);
    for (size_t index = 0; index < config->site_count; index++)
        zhashx_insert (sites, config->sites [index].url, &config->sites [index]);
    printer_t printer = {
        .json = json, .store = store, .config = config, .sites = sites,
        .now_us = sq_wallclock_us ()
    };
    int rows = store_status (store, printer.now_us, s_print_row, &printer);
    free (printer.regions);
    zhashx_destroy (&sites);
    store_close (&store);
    if (rows < 0) {
        fprintf (stderr, "squirrel status: cannot read the store\n");
        config_destroy (&config);
        return 1;
    }
    int rc = s_print_pingers (config->data_dir, json, printer.now_us);
    rc |= s_print_notifications (config->data_dir, json);
    config_destroy (&config);
    return rc ? 1 : 0;
}

const command_t command_status = {
    "status", "every site's state, uptime and last check, from the store", s_usage, s_run
};
