/*  cmd_status.c: `squirrel status CONFIG`, every site's state from the
    store: state, uptime over 24 h, 7 d and 30 d, last check and reason.
    Reads the store beside a running `squirrel run` (SQLite WAL).
*/
#include "commands.h"
#include "config.h"
#include "sq_json.h"
#include "store.h"

#include <getopt.h>
#include <unistd.h>
#include <string.h>

static const char s_usage [] =
    "usage: squirrel status [OPTIONS] CONFIG\n"
    "\n"
    "Print every site of CONFIG's store: state, uptime % over 24 h, 7 d and\n"
    "30 d, the last check and its reason.\n"
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

static void
s_print_row (const store_status_t *row, void *arg)
{
    bool json = *(bool *) arg;
    char last [40] = "never";
    if (row->last_check_us)
        sq_time_iso (row->last_check_us, last, sizeof (last));
    if (json) {
        char *line = NULL;
        size_t length = 0;
        sq_json_appendf (&line, &length, "{\"url\":");
        sq_json_append_string (&line, &length, row->url);
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
        sq_json_appendf (&line, &length, "}");
        puts (line);
        free (line);
        return;
    }
    char day [16], week [16], month [16];
    s_uptime (row->uptime_24h, day, sizeof (day));
    s_uptime (row->uptime_7d, week, sizeof (week));
    s_uptime (row->uptime_30d, month, sizeof (month));
    printf ("%-8s %8s %8s %8s  %-24s  %-11s  %-16s  %s\n", sq_state_name (row->state), day, week,
            month, last, row->last_check_us ? sq_reason_name (row->last_reason) : "-",
            *row->last_region ? row->last_region : "-", row->url);
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
    int rows = store_status (store, sq_wallclock_us (), s_print_row, &json);
    store_close (&store);
    config_destroy (&config);
    if (rows < 0) {
        fprintf (stderr, "squirrel status: cannot read the store\n");
        return 1;
    }
    return 0;
}

const command_t command_status = {
    "status", "every site's state, uptime and last check, from the store", s_usage, s_run
};
