/*  cmd_run.c: `squirrel run CONFIG`, monitor until stopped.

    Loads the config, gives every site a stable id from the store, starts
    the topology with the store writer, and waits.  SIGHUP rereads the
    config: unchanged sites keep their state and schedule, a broken config
    is reported and the old one kept.  SIGINT or SIGTERM stop in order
    (pingers, then the collector drains, then the store commits), so no
    result already received is lost.

    data_dir belongs to one `run` at a time, and to its user only.  Before
    anything else `run` makes the folder (mode 0700) or refuses one that
    others may enter, then takes an exclusive flock on data_dir/lock and
    writes its PID there; a second `run` on the same folder exits 2 naming
    that PID.  The lock goes with the open file description, so it is held
    until this process ends, whatever stops it (kill -9 included): the
    descriptor is O_CLOEXEC, so no child (`squirrel actor` parts, notifier
    commands) carries it past an exec, and none can keep it once we are
    gone.  The children of processes mode never take it: they only run
    under a supervisor that holds it.
*/
#include "commands.h"
#include "config.h"
#include "http_server.h"
#include "hub_api.h"
#include "service.h"
#include "store.h"
#include "topology.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define S_LOCK_FILE         "lock"      //  in data_dir: held by the `run` that owns it
#define S_LOCK_WAIT_MS      1000        //  a holder writes its PID within this, or is gone
#define S_FEED_FILE         "feed"      //  the default feed: ipc://<data_dir>/feed

static const char s_usage [] =
    "usage: squirrel run [OPTIONS] CONFIG\n"
    "\n"
    "Monitor the sites of CONFIG until SIGINT or SIGTERM; SIGHUP rereads CONFIG.\n"
    "Alerts are published on the config's feed (see `squirrel watch`; by default\n"
    "ipc://DATA_DIR/feed); history goes to the store in data_dir (see `squirrel\n"
    "status`).  data_dir is made mode 700 (one others may enter is refused) and\n"
    "locked: a second `run` on it exits 2 naming the PID of the first.\n"
    "\n"
    "options:\n"
    "  --transport T     inproc (default: every actor a thread) or ipc\n"
    "  --pingers N       pinger threads (default: one per core, at most 8)\n"
    "  --concurrency N   live checks per pinger (default 256)\n"
    "  --ca-file PATH    also trust the CA certificates in PATH\n"
    "  -h, --help        this text\n";

int
cli_assign_ids (config_t *config)
{
    char error [1024];
    store_t *store = store_open (config->data_dir, error, sizeof (error));
    if (!store) {
        zsys_error ("squirrel run: %s", error);
        return -1;
    }
    size_t count = config->site_count;
    const char **urls = (const char **) calloc (count + 1, sizeof (char *));
    const char **owners = (const char **) calloc (count + 1, sizeof (char *));
    uint64_t *ids = (uint64_t *) calloc (count + 1, sizeof (uint64_t));
    assert (urls && owners && ids);
    for (size_t index = 0; index < count; index++) {
        urls [index] = config->sites [index].url;
        owners [index] = config->sites [index].owner;
    }
    int rc = store_sync_sites (store, urls, owners, count, ids, error, sizeof (error));
    //  1: the disk is full (or refuses writes), and the ids came from
    //  reading the store (store.h): monitoring goes on without history.
    if (rc == 1)
        zsys_warning ("store: disk full at %s: %s; monitoring goes on, history is buffered "
                      "(at most %d writes) and written when the disk has room again",
                      config->data_dir, error, STORE_PENDING_MAX);
    if (rc < 0)
        zsys_error ("squirrel run: %s", error);
    else
        for (size_t index = 0; index < count; index++)
            config->sites [index].id = ids [index];
    rc = rc < 0 ? -1 : 0;
    free (urls);
    free (owners);
    free (ids);
    store_close (&store);
    return rc;
}

int
cli_hand_sites (topology_t *topology, const config_t *config)
{
    char error [512];
    int rc = config_hand_sites (config, topology, error, sizeof (error));
    if (rc)
        zsys_error ("squirrel run: %s", error);
    return rc;
}

//  The config's feed, or when it sets none "feed" in data_dir, where only
//  this user can reach it (a fixed name in /tmp could be bound first by
//  anyone).  Borrowed: the default lives in a static buffer, as there is
//  one topology per process.
static const char *
s_feed_of (const config_t *config)
{
    static char feed [TOPOLOGY_ENDPOINT_MAX];
    if (config->feed)
        return config->feed;
    snprintf (feed, sizeof (feed), "ipc://%s/%s", config->data_dir, S_FEED_FILE);
    return feed;
}

void
cli_topology_args (topology_args_t *args, const config_t *config)
{
    args->data_dir = config->data_dir;
    args->retention_results_ms = config->retention_results_ms;
    args->retention_rollups_ms = config->retention_rollups_ms;
    args->runtime_dir = config->data_dir;
    args->feed = s_feed_of (config);
    cli_topology_workers (args, config);
}

void
cli_topology_workers (topology_args_t *args, const config_t *config)
{
    args->listen = config->listen;
    args->keys_dir = config->keys;
    args->heartbeat_ms = config->heartbeat_ms;
    args->notify = &config->notify;
    //  workers.pingers, unless --pingers said otherwise.
    if (!args->pingers && config->pingers == 0)
        args->remote_only = true;
    else
    if (!args->pingers && config->pingers > 0)
        args->pingers = (unsigned) config->pingers;
}

//  Two texts that may be NULL are the same.
static bool
s_same_text (const char *one, const char *two)
{
    return one == two || (one && two && streq (one, two));
}

config_t *
cli_reload (config_t *current, topology_t *topology)
{
    char error [1024];
    config_t *fresh = hub_config_load (current->path, error, sizeof (error));
    if (!fresh) {
        zsys_error ("squirrel run: reload refused, keeping the running config: %s", error);
        return current;
    }
    //  What the running topology was built from stays as it is.
    if (!s_same_text (fresh->data_dir, current->data_dir)
    ||  !s_same_text (fresh->feed, current->feed)
    ||  !s_same_text (fresh->listen, current->listen)
    ||  !s_same_text (fresh->keys, current->keys) || fresh->heartbeat_ms != current->heartbeat_ms
    ||  fresh->pingers != current->pingers || fresh->processes != current->processes
    ||  !s_same_text (fresh->http_listen, current->http_listen)
    ||  !s_same_text (fresh->http_token_file, current->http_token_file)
    ||  fresh->http_metrics_sites != current->http_metrics_sites
    ||  fresh->retention_results_ms != current->retention_results_ms
    ||  fresh->retention_rollups_ms != current->retention_rollups_ms)
        zsys_warning ("squirrel run: changes to data_dir, feed, listen, keys, heartbeat, "
                      "workers, http and retention take effect at the next start; the sites "
                      "are reloaded now");
    //  The notifier read its settings at start; owners and sites reload.
    const notifier_settings_t *was = &current->notify, *now = &fresh->notify;
    if (!s_same_text (was->smtp_url, now->smtp_url) || !s_same_text (was->smtp_from, now->smtp_from)
    ||  !s_same_text (was->smtp_user, now->smtp_user)
    ||  !s_same_text (was->smtp_password_file, now->smtp_password_file)
    ||  !s_same_text (was->smtp_ca_file, now->smtp_ca_file)
    ||  was->digest_after != now->digest_after || was->digest_window_ms != now->digest_window_ms
    ||  was->give_up_ms != now->give_up_ms || was->retry_max_ms != now->retry_max_ms)
        zsys_warning ("squirrel run: changes to smtp, digest_after, digest_window, give_up_after "
                      "and retry_max take effect at the next start; owners are reloaded now");
    //  The running store and feed stay where they are.
    free (fresh->data_dir);
    fresh->data_dir = strdup (current->data_dir);
    if (cli_assign_ids (fresh) || cli_hand_sites (topology, fresh)) {
        zsys_error ("squirrel run: reload failed, keeping the running config");
        config_destroy (&fresh);
        return current;
    }
    zsys_info ("squirrel run: reloaded %s: %zu sites", fresh->path, fresh->site_count);
    config_destroy (&current);
    return fresh;
}

//  data_dir, made when missing (each missing folder mode 0700), must be a
//  folder of this user's that no one else may enter: it holds the store,
//  the outbox and the sockets.  One that exists with group or other bits
//  is refused, not tightened: it may be shared on purpose or by mistake
//  (a home, /var/lib, /tmp), and changing the mode of a folder we did not
//  make could break whatever else lives in it.  The message says what to
//  run.  0, or -1 with a message on stderr.
static int
s_private_folder (const char *data_dir)
{
    char path [PATH_MAX];
    if (!*data_dir || strlen (data_dir) >= sizeof (path)) {
        fprintf (stderr, "squirrel run: data_dir is empty or too long\n");
        return -1;
    }
    strcpy (path, data_dir);
    for (char *slash = strchr (path + 1, '/'); ; slash = strchr (slash + 1, '/')) {
        if (slash)
            *slash = 0;
        if (mkdir (path, 0700) == 0) {
            //  The umask may have taken the owner's bits too.
            if (chmod (path, 0700)) {
                fprintf (stderr, "squirrel run: cannot make %s mode 700: %s\n", path,
                         strerror (errno));
                return -1;
            }
        }
        else
        if (errno != EEXIST) {
            fprintf (stderr, "squirrel run: cannot create data_dir %s: %s\n", path,
                     errno == EACCES ? "permission denied" : strerror (errno));
            return -1;
        }
        if (!slash)
            break;
        *slash = '/';
    }
    struct stat info;
    if (stat (data_dir, &info)) {
        fprintf (stderr, "squirrel run: data_dir %s: %s\n", data_dir,
                 errno == EACCES ? "permission denied" : strerror (errno));
        return -1;
    }
    if (!S_ISDIR (info.st_mode)) {
        fprintf (stderr, "squirrel run: data_dir %s is not a folder\n", data_dir);
        return -1;
    }
    if (info.st_uid != geteuid ()) {
        fprintf (stderr, "squirrel run: data_dir %s belongs to uid %u, not to this user "
                 "(uid %u), who could open it to others: run as its owner, or chown it\n",
                 data_dir, (unsigned) info.st_uid, (unsigned) geteuid ());
        return -1;
    }
    if (info.st_mode & (S_IRWXG | S_IRWXO)) {
        fprintf (stderr, "squirrel run: data_dir %s has mode %04o: other users could read the "
                 "store and connect to the feed; make it private with `chmod 700 %s` (squirrel "
                 "does not change the mode of a folder that exists)\n", data_dir,
                 (unsigned) (info.st_mode & 07777), data_dir);
        return -1;
    }
    return 0;
}

//  The PID written in the lock file, if it names a live process; else 0.
static pid_t
s_lock_holder (int fd, pid_t *written)
{
    char text [32] = "";
    ssize_t size = pread (fd, text, sizeof (text) - 1, 0);
    text [size > 0 ? size : 0] = 0;
    char *end = NULL;
    long pid = strtol (text, &end, 10);
    *written = pid > 0 && pid <= INT_MAX && end != text ? (pid_t) pid : 0;
    if (*written && (kill (*written, 0) == 0 || errno == EPERM))
        return *written;
    return 0;
}

//  Take data_dir for this process: an exclusive flock on data_dir/lock,
//  then our PID written in it for the next one who tries.  Returns the
//  lock's descriptor (keep it open: closing it lets go), -1 on an error,
//  -2 when another process holds it (both with a message on stderr).
static int
s_lock_folder (const char *data_dir)
{
    char path [PATH_MAX];
    if (snprintf (path, sizeof (path), "%s/%s", data_dir, S_LOCK_FILE) >= (int) sizeof (path)) {
        fprintf (stderr, "squirrel run: data_dir name too long: %s\n", data_dir);
        return -1;
    }
    //  O_CLOEXEC: a child keeps no copy of the lock past its exec.
    int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0600);
    if (fd < 0) {
        fprintf (stderr, "squirrel run: cannot open %s: %s\n", path,
                 errno == EACCES ? "permission denied" : strerror (errno));
        return -1;
    }
    //  The holder writes its PID just after it locks, and a holder that
    //  died lets go: try again for a moment before naming it.
    int64_t deadline = zclock_mono () + S_LOCK_WAIT_MS;
    while (flock (fd, LOCK_EX | LOCK_NB)) {
        if (errno == EINTR)
            continue;
        if (errno != EWOULDBLOCK) {
            fprintf (stderr, "squirrel run: cannot lock %s: %s\n", path, strerror (errno));
            close (fd);
            return -1;
        }
        pid_t written;
        pid_t holder = s_lock_holder (fd, &written);
        if (holder || zclock_mono () >= deadline) {
            char who [64] = "another process";
            if (written)
                snprintf (who, sizeof (who), "another squirrel run (pid %d)", (int) written);
            fprintf (stderr, "squirrel run: data_dir %s is in use by %s, which holds %s; two "
                     "would check every site and send every alert twice: stop it first\n",
                     data_dir, who, path);
            close (fd);
            return -2;
        }
        zclock_sleep (20);
    }
    char text [32];
    int length = snprintf (text, sizeof (text), "%d\n", (int) getpid ());
    if (ftruncate (fd, 0) || pwrite (fd, text, (size_t) length, 0) != length)
        zsys_warning ("squirrel run: cannot write our pid in %s: %s (the lock holds all the "
                      "same)", path, strerror (errno));
    return fd;
}

//  Let data_dir go at a clean stop: no PID left to mislead a reader.
static void
s_unlock_folder (int *fd_p)
{
    if (*fd_p < 0)
        return;
    if (ftruncate (*fd_p, 0))
        zsys_warning ("squirrel run: cannot clear the lock file: %s", strerror (errno));
    close (*fd_p);
    *fd_p = -1;
}

//  An ipc:// feed must fit a socket address, and one in a folder others
//  may enter (such as /tmp) can be taken or reached by them: say so.
//  0, or -1 with a message on stderr.
static int
s_check_feed (const char *feed)
{
    if (strncmp (feed, "ipc://", 6) || feed [6] == '@')
        return 0;
    const char *path = feed + 6;
    struct sockaddr_un address;
    if (strlen (path) >= sizeof (address.sun_path)) {
        fprintf (stderr, "squirrel run: feed %s: a socket path is at most %zu bytes: set a "
                 "shorter data_dir or feed\n", feed, sizeof (address.sun_path) - 1);
        return -1;
    }
    char folder [PATH_MAX];
    snprintf (folder, sizeof (folder), "%s", path);
    char *slash = strrchr (folder, '/');
    if (slash == folder)
        folder [1] = 0;
    else
    if (slash)
        *slash = 0;
    else
        strcpy (folder, ".");
    struct stat info;
    if (stat (folder, &info))
        return 0;               //  the bind will say why
    unsigned mode = (unsigned) (info.st_mode & 07777);
    if (info.st_mode & (S_IWGRP | S_IWOTH))
        zsys_warning ("squirrel run: the feed %s is in %s (mode %04o), where other users may "
                      "write: one could bind that name first and keep `run` from starting; "
                      "the default, ipc://DATA_DIR/feed, is private", feed, folder, mode);
    else
    if (info.st_mode & (S_IXGRP | S_IXOTH))
        zsys_warning ("squirrel run: the feed %s is in %s (mode %04o), which other users may "
                      "enter: they could connect in the moment between its bind and its "
                      "chmod 600; the default, ipc://DATA_DIR/feed, is private", feed, folder,
                      mode);
    return 0;
}

//  The HTTP server of config (http.listen), logging its address.
static http_server_t *
s_http_start (const config_t *config, const char *feed, const char *changes, char *why,
              size_t why_size)
{
    http_server_args_t args = {
        .listen = config->http_listen, .token_file = config->http_token_file,
        .data_dir = config->data_dir, .feed = feed, .changes = changes,
        .page_title = config->page_title,
        .page_sites = (const char *const *) config->page_sites,
        .page_site_count = config->page_site_count,
        .metrics_sites = config->http_metrics_sites
    };
    http_server_t *http = http_server_new (&args, why, why_size);
    if (http)
        zsys_info ("squirrel run: status page at http://%s/ (API under /api/v1, metrics at "
                   "/metrics%s)", config->http_listen,
                   config->http_token_file ? "" : "; writes off: no http.token_file");
    return http;
}

static int
s_run (int argc, char **argv)
{
    static const struct option options [] = {
        { "transport",   required_argument, NULL, 't' },
        { "pingers",     required_argument, NULL, 'p' },
        { "concurrency", required_argument, NULL, 'c' },
        { "ca-file",     required_argument, NULL, 'a' },
        { "help",        no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    topology_args_t args = { .transport = "inproc" };
    int option;
    long value;
    while ((option = getopt_long (argc, argv, "h", options, NULL)) != -1) {
        switch (option) {
            case 't':
                if (!streq (optarg, "inproc") && !streq (optarg, "ipc")) {
                    fprintf (stderr, "squirrel run: --transport takes inproc or ipc, not '%s'\n",
                             optarg);
                    return EXIT_USAGE;
                }
                args.transport = optarg;
                break;
            case 'p':
                if ((value = cli_parse_count ("run", "pingers", optarg, 64)) < 0)
                    return EXIT_USAGE;
                args.pingers = (unsigned) value;
                break;
            case 'c':
                if ((value = cli_parse_count ("run", "concurrency", optarg, 100000)) < 0)
                    return EXIT_USAGE;
                args.concurrency = (unsigned) value;
                break;
            case 'a':
                //  A typo here would turn every HTTPS site "down, tls".
                if (access (optarg, R_OK) != 0) {
                    fprintf (stderr, "squirrel run: --ca-file %s: %s\n", optarg, strerror (errno));
                    return EXIT_USAGE;
                }
                args.ca_file = optarg;
                break;
            case 'h': fputs (s_usage, stdout); return 0;
            default: return cli_usage_error (&command_run);
        }
    }
    if (optind != argc - 1) {
        fprintf (stderr, "squirrel run: expected one CONFIG file, got %d arguments\n",
                 argc - optind);
        return cli_usage_error (&command_run);
    }
    char error [1024];
    int64_t started = zclock_usecs ();      //  the phases of a start, for the log
    config_t *config = config_load (argv [optind], error, sizeof (error));
    if (!config) {
        fprintf (stderr, "squirrel run: %s\n", error);
        return EXIT_USAGE;
    }
    //  The folder first, and ours alone, before the store is touched.
    int lock = s_private_folder (config->data_dir) ? -1 : s_lock_folder (config->data_dir);
    if (lock < 0) {
        config_destroy (&config);
        return EXIT_USAGE;
    }
    if (s_check_feed (s_feed_of (config))) {
        s_unlock_folder (&lock);
        config_destroy (&config);
        return EXIT_USAGE;
    }
    cli_catch_signals (true);
    //  Now that data_dir is ours: the sites added through the API too.
    config = hub_config_with_api (config);
    cli_topology_args (&args, config);
    int64_t loaded = zclock_usecs ();
    if (cli_assign_ids (config)) {
        s_unlock_folder (&lock);
        config_destroy (&config);
        return 1;
    }
    if (config->processes && config->http_listen) {
        fprintf (stderr, "squirrel run: %s: http: is served with workers.mode threads only "
                 "(processes mode has no HTTP server yet): remove one of the two\n", config->path);
        s_unlock_folder (&lock);
        config_destroy (&config);
        return EXIT_USAGE;
    }
    if (config->processes) {
        //  Every actor a child process; this one only supervises, holding
        //  the lock for them all.  The supervisor names the feed it logs.
        if (!config->feed)
            config->feed = strdup (args.feed);
        int rc = cli_supervise (config, &args);
        s_unlock_folder (&lock);
        config_destroy (&config);
        return rc;
    }
    //  The HTTP server's address first: a newcomer's first look.  It
    //  reads the store and the feed only, so it may start before the actors.
    hub_api_t *changes = NULL;
    http_server_t *http = NULL;
    if (config->http_listen) {
        changes = hub_api_new ();
        char why [512];
        http = s_http_start (config, args.feed, hub_api_endpoint (changes), why, sizeof (why));
        if (!http) {
            fprintf (stderr, "squirrel run: %s\n", why);
            hub_api_destroy (&changes);
            s_unlock_folder (&lock);
            config_destroy (&config);
            return 1;
        }
    }
    int64_t ids = zclock_usecs ();
    topology_t *topology = topology_new (&args);
    if (!topology || cli_hand_sites (topology, config)) {
        fprintf (stderr, "squirrel run: could not start (see the log above)\n");
        http_server_destroy (&http);
        hub_api_destroy (&changes);
        topology_destroy (&topology);
        s_unlock_folder (&lock);
        config_destroy (&config);
        return 1;
    }
    int64_t ready = zclock_usecs ();
    zsys_info ("squirrel run: monitoring %zu sites from %s; alerts on %s; store in %s",
               config->site_count, config->path, topology_endpoints_of (topology)->feed,
               config->data_dir);
    zsys_info ("squirrel run: ready in %.2f s: config read in %.2f s, site ids in %.2f s, "
               "actors started and given the sites in %.2f s", (ready - started) / 1e6,
               (loaded - started) / 1e6, (ids - loaded) / 1e6, (ready - ids) / 1e6);
    if (config->listen)
        zsys_info ("squirrel run: pinger nodes connect to %s (CURVE; keys in %s, allowed "
                   "public keys in %s/allowed)", config->listen, config->keys, config->keys);
    char status [128];
    snprintf (status, sizeof (status), "monitoring %zu sites", config->site_count);
    service_ready (status);
    zpoller_t *poller = changes ? zpoller_new (hub_api_socket (changes), NULL) : NULL;
    while (!cli_stop_requested) {
        if (poller) {
            if (zpoller_wait (poller, 100))
                hub_api_handle (changes, &config, topology);
        }
        else
            zclock_sleep (100);
        if (cli_reload_requested) {
            cli_reload_requested = 0;
            service_reloading ();
            //  A refused reload hands back the running config itself.
            uintptr_t was = (uintptr_t) config;
            config = cli_reload (config, topology);
            snprintf (status, sizeof (status), "monitoring %zu sites%s", config->site_count,
                      (uintptr_t) config == was ? "; reload refused (see the log)" : "");
            service_ready (status);
            if (http)
                http_server_set_page (http, config->page_title,
                                      (const char *const *) config->page_sites,
                                      config->page_site_count);
        }
    }
    zsys_info ("squirrel run: stopping");
    service_stopping ();
    //  No more changes: the HTTP server goes before the actors.
    http_server_destroy (&http);
    zpoller_destroy (&poller);
    hub_api_destroy (&changes);
    char *stats = topology_stats (topology);
    topology_destroy (&topology);
    topology_log_counters ("squirrel run: stopped; counters at stop:", stats);
    free (stats);
    s_unlock_folder (&lock);
    config_destroy (&config);
    return 0;
}

const command_t command_run = {
    "run", "monitor the sites of a config until stopped", s_usage, s_run
};
