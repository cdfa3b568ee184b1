/*  cmd_status.c: `squirrel status CONFIG`, every site's state from the
    store: state, uptime over 24 h, 7 d and 30 d, last check and reason.
    Reads the store beside a running `squirrel run` (SQLite WAL).
*/
#include "commands.h"
#include "config.h"
#include "outbox.h"
#include "sq_json.h"
#include "sq_url.h"
#include "store.h"

#include <getopt.h>
#include <unistd.h>
#include <string.h>

static const char s_usage [] =
    "usage: squirrel status [OPTIONS] CONFIG\n"
    "\n"
    "Print every site of CONFIG's store: state, uptime % over 24 h, 7 d and\n"
    "30 d, the last check and its reason; then the notifications delivered,\n"
    "failed and pending per channel (with --json, a last object\n"
    "{\"notifications\": {CHANNEL: {\"delivered\": N, \"failed\": N, \"pending\": N}}}).\n"
    "\n"
    "options:\n"
    "  --json       one JSON object per site\n"
    "  -h, --help   this text\n";

static void
s_uptime (double value, char *out, size_t size)
{
    if (value < 0)
        snprintf (out, size, "-");
    else
        snprintf (out, size, "%.2f%%", value);
}

typedef struct {
    bool json;                  //  --json
    store_t *store;             //  for each site's regions
    char *regions;              //  the regions of the row being printed (sq_json buffer)
    size_t length;              //  its length
    size_t count;               //  regions in it
} printer_t;

//  One region's latest verdict: " eu:up", " us:down(timeout)"; in JSON
//  "eu":{"up":true,"reason":"ok","at":"..."}.
static void
s_region (const char *region, bool up, sq_reason_t reason, int64_t at_us, void *arg)
{
    printer_t *printer = (printer_t *) arg;
    const char *name = *region ? region : "-";
    if (printer->json) {
        char at [40];
        sq_time_iso (at_us, at, sizeof (at));
        sq_json_appendf (&printer->regions, &printer->length, "%s", printer->count ? "," : "");
        sq_json_append_string (&printer->regions, &printer->length, name);
        sq_json_appendf (&printer->regions, &printer->length,
                         ":{\"up\":%s,\"reason\":\"%s\",\"at\":\"%s\"}", up ? "true" : "false",
                         sq_reason_name (reason), at);
    }
    else
    if (up)
        sq_json_appendf (&printer->regions, &printer->length, " %s:up", name);
    else
        sq_json_appendf (&printer->regions, &printer->length, " %s:down(%s)", name,
                         sq_reason_name (reason));
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
    store_site_regions (printer->store, row->id, s_region, printer);
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
        const double windows [] = { row->uptime_24h, row->uptime_7d, row->uptime_30d };
        const char *names [] = { "uptime_24h", "uptime_7d", "uptime_30d" };
        for (size_t index = 0; index < 3; index++)
            if (windows [index] < 0)
                sq_json_appendf (&line, &length, ",\"%s\":null", names [index]);
            else
                sq_json_appendf (&line, &length, ",\"%s\":%.3f", names [index], windows [index]);
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
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    bool json = false;
    int option;
    while ((option = getopt_long (argc, argv, "h", options, NULL)) != -1) {
        switch (option) {
            case 'j': json = true; break;
            case 'h': fputs (s_usage, stdout); return 0;
            default: return cli_usage_error (&command_status);
        }
    }
    if (optind != argc - 1) {
        fprintf (stderr, "squirrel status: expected one CONFIG file, got %d arguments\n",
                 argc - optind);
        return cli_usage_error (&command_status);
    }
    char error [1024];
    config_t *config = config_load (argv [optind], error, sizeof (error));
    if (!config) {
        fprintf (stderr, "squirrel status: %s\n", error);
        return EXIT_USAGE;
    }
    //  A read-only command: never create a store where there is none.
    char *database = zsys_sprintf ("%s/%s", config->data_dir, STORE_FILE_NAME);
    bool exists = access (database, R_OK) == 0;
    if (!exists)
        fprintf (stderr, "squirrel status: no store at %s yet: `squirrel run %s` creates it\n",
                 database, argv [optind]);
    zstr_free (&database);
    if (!exists) {
        config_destroy (&config);
        return 1;
    }
    store_t *store = store_open (config->data_dir, error, sizeof (error));
    if (!store) {
        fprintf (stderr, "squirrel status: %s\n", error);
        config_destroy (&config);
        return 1;
    }
    if (!json)
        printf ("%-8s %8s %8s %8s  %-24s  %-11s  %-16s  %s\n", "STATE", "24H", "7D", "30D",
                "LAST CHECK", "REASON", "REGION", "URL");
    printer_t printer = { .json = json, .store = store };
    int rows = store_status (store, sq_wallclock_us (), s_print_row, &printer);
    free (printer.regions);
    store_close (&store);
    if (rows < 0) {
        fprintf (stderr, "squirrel status: cannot read the store\n");
        config_destroy (&config);
        return 1;
    }
    int rc = s_print_notifications (config->data_dir, json);
    config_destroy (&config);
    return rc ? 1 : 0;
}

const command_t command_status = {
    "status", "every site's state, uptime and last check, from the store", s_usage, s_run
};
