/*  config.h: the sites to monitor, loaded from a config file.

    Two formats, told apart by content.  When the first line that is not
    blank and not a comment starts with a scheme ("http://..."), the file is
    a plain list: one URL per line, '#' starts a comment (at the start of a
    line or after white space), blank lines are skipped, and every site gets
    the built-in defaults.  Anything else is read as YAML:

        data_dir: ./squirrel-data
        feed: ipc://./squirrel-data/feed      # the default: ipc://<data_dir>/feed
        smtp: { url: smtps://mail.example.com:465, from: squirrel@example.com }
        canaries: [https://www.example.org/]
        defaults: { interval: 5m, timeout: 20s, method: HEAD, regions: [eu, us], ... }
        owners:
          alice: { email: alice@example.com, webhook: https://hooks.example.com/alice,
                   notify_degraded: true }
        sites:
          - url: https://example.com/
            owner: alice
            interval: 1m
            regions: [eu, us, asia]
            quorum: 2

    A site may override any key of defaults.  Every mistake is reported as
    "FILE:LINE:COLUMN: what was expected, and what was found", first one
    only.  The keys and the rule for each are listed at the top of config.c.
*/
#ifndef CONFIG_H_INCLUDED
#define CONFIG_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sq_proto.h"
#include "notifier.h"
#include <czmq.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Limits of the rules.
#define CONFIG_INTERVAL_MIN_MS  10000       //  checks at most every 10 s
#define CONFIG_INTERVAL_MAX_MS  SQ_INTERVAL_MAX_MS  //  and at least once a day
#define CONFIG_THRESHOLD_MAX    SQ_THRESHOLD_MAX    //  failure_threshold, success_threshold
#define CONFIG_REDIRECTS_MAX    50          //  max_redirects
#define CONFIG_FILE_MAX         (64 << 20)  //  bytes in a config file
#define CONFIG_PINGERS_MAX      64          //  workers.pingers
#define CONFIG_CANARIES_MAX     16          //  canaries
#define CONFIG_RESULTS_MIN_MS   UINT64_C (3600000)          //  retention.results: 1h
#define CONFIG_RESULTS_MAX_MS   (UINT64_C (90) * 86400000)  //  to 90d
#define CONFIG_ROLLUPS_MIN_MS   (UINT64_C (90) * 86400000)  //  retention.rollups: 90d
#define CONFIG_ROLLUPS_MAX_MS   (UINT64_C (3650) * 86400000) // to 3650d

//  One site, or the defaults a site starts from.
typedef struct {
    uint64_t id;                //  site id, 0 until the store or the caller assigns one
    char *url;                  //  http(s) URL, checked; NULL in defaults
    char *owner;                //  owner name, or NULL
    uint32_t interval_ms;       //  time between checks
    uint32_t timeout_ms;        //  whole-check timeout
    sq_method_t method;         //  HEAD or GET
    uint32_t failure_threshold; //  consecutive failures before DOWN
    uint32_t success_threshold; //  consecutive successes before UP
    sq_ranges_t accept;         //  accepted statuses; count 0 = below 400
    char *keyword;              //  required in the body; "" = none, never NULL
    uint32_t max_latency_ms;    //  0 = none
    uint32_t max_redirects;     //  redirects followed
    bool tls_verify;            //  false: site opted out of certificate checks
    uint32_t remind_every_ms;   //  reminders while down; 0 = never
    uint32_t flap_changes;      //  more changes than this in flap_window is flapping; 0 = off
    uint32_t flap_window_ms;    //  0 = off
    sq_days_t cert_warn_days;   //  days before expiry to warn, descending, unique
    sq_windows_t maintenance;   //  no notification inside these; a site's list
                                //  replaces the defaults' whole
    char *regions;              //  region names joined with ',' ("eu,us"), each
                                //  once; "" = every region with a live pinger;
                                //  never NULL.  A site's list replaces the defaults'
    uint32_t quorum;            //  regions that must see it down for DOWN, at most
                                //  the regions listed; 0 = a majority of those
                                //  that count
    int line;                   //  line of the site in the file, for messages
                                //  (0 for sites added from the command line)
    bool api;                   //  added through the HTTP API, kept in the store
} config_site_t;

//  Someone to tell when a site changes state.  Every channel is optional:
//  an owner with none has notifications logged only.
typedef struct {
    char *name;                 //  key under owners, what sites name
    char *email;                //  address, sent through smtp, or NULL
    char *webhook;              //  http(s) URL the notifier posts to, or NULL
    char *webhook_template;     //  body template for webhook, or NULL: our JSON
    char *slack;                //  Slack incoming webhook URL, or NULL
    char *discord;              //  Discord webhook URL, or NULL
    char *command;              //  absolute path of a program to run, or NULL
    bool quiet;                 //  no reminders
    sq_windows_t maintenance;   //  no notification inside these
    bool notify_degraded;       //  told of DEGRADED too (always in feed and store)
} config_owner_t;

//  The smtp section: where email goes out.  Strings NULL when absent (url
//  and from are both set or both NULL).
typedef struct {
    char *url;                  //  smtp:// (STARTTLS required) or smtps://
    char *from;                 //  sender address
    char *user;                 //  AUTH user, or NULL
    char *password_file;        //  file holding the password (mode 600), or NULL
    char *ca_file;              //  extra CA for the mail server, or NULL
} config_smtp_t;

//  A whole config.  Everything in it belongs to it; config_destroy frees it.
typedef struct {
    char *path;                 //  file it came from; NULL for config_new_empty
    char *data_dir;             //  store and runtime files
    char *feed;                 //  alert feed endpoint, or NULL: ipc://<data_dir>/feed
    char *listen;               //  tcp://HOST:PORT for remote pingers, or NULL
    char *keys;                 //  folder of the hub's keys and allowed/, or NULL
    uint32_t heartbeat_ms;      //  pinger heartbeat interval
    int pingers;                //  local pingers; -1 = one per core, 0 = none
    bool processes;             //  workers.mode processes: each actor a child process
    uint64_t retention_results_ms;  //  retention.results: raw results kept
    uint64_t retention_rollups_ms;  //  retention.rollups: hourly rollups kept
    config_smtp_t smtp;         //  the smtp section; owns the strings notify points to
    notifier_settings_t notify; //  smtp and delivery settings, defaults applied; its
                                //  strings are smtp's (borrowed, valid while self lives)
    config_site_t defaults;     //  what a site gets for keys it leaves out (url NULL)
    config_owner_t *owners;     //  declared owners, in file order
    size_t owner_count;         //  entries in owners
    config_site_t *sites;       //  sites, in file order, URLs unique
    size_t site_count;          //  entries in sites
    char **canaries;            //  http(s) URLs checked from every region to judge
                                //  the pingers' own health, unique, in file order
                                //  (SITEs with canary set: config_sites_batch)
    size_t canary_count;        //  entries in canaries, at most CONFIG_CANARIES_MAX
    char *http_listen;          //  http.listen, "HOST:PORT" (numeric host), or NULL:
                                //  no HTTP server
    char *http_token_file;      //  http.token_file (mode 600), or NULL: writes refused
    uint32_t http_metrics_sites;    //  http.metrics_sites: /metrics has per-site families
                                    //  up to this many sites (0: none but their HELP lines)
    char *page_title;           //  status_page.title; never NULL
    char **page_sites;          //  status_page.sites, normal-form URLs; NULL = every site
    size_t page_site_count;     //  entries in page_sites
    size_t api_site_count;      //  sites that came through the HTTP API (the last ones)
} config_t;

//  Load a config file.  NULL on any error, with one message in error:
//  "FILE:LINE:COLUMN: ..." for a mistake in the file, "FILE: cannot read:
//  REASON" when it cannot be read.
config_t *config_load (const char *path, char *error, size_t error_size);

//  A site added through the HTTP API, as the store keeps it.
typedef struct {
    const char *url;            //  its URL in normal form (the store's key)
    const char *body;           //  a JSON object with a site's keys
    const char *label;          //  where it came from, for messages ("body")
} config_api_site_t;

//  Load a config file and then the API's sites, each checked by the rules
//  of a site in the file ("LABEL:LINE:COLUMN: ..." for a mistake in one).
//  An API site whose URL the file lists is left out (the file owns it).
config_t *config_load_with_api (const char *path, const config_api_site_t *api,
                                size_t api_count, char *error, size_t error_size);

//  A config with the built-in defaults and no sites (for command-line use).
config_t *config_new_empty (void);

//  Forget the canaries (a sweep judges sites, not pingers).
void config_canaries_free (config_t *config);

//  Append a site for url with the defaults.  0, or -1 with the reason in
//  error (a URL we do not monitor, or one already in the config).
int config_add_site (config_t *self, const char *url, char *error, size_t error_size);

//  Destroy a config; safe on NULL, nulls the caller's pointer.
void config_destroy (config_t **self_p);

//  The owner called name (borrowed), or NULL if there is none.
const config_owner_t *config_owner (const config_t *self, const char *name);

//  The site with exactly this URL (borrowed), or NULL.
const config_site_t *config_site_by_url (const config_t *self, const char *url);

//  One site as the SITE message every actor takes.  0, or -1 if a value does
//  not fit the message (the loader's limits prevent it).
int config_site_message (const config_t *self, const config_site_t *entry, sq_site_t *site);

//  One owner as the OWNER message the notifier takes; "" for a channel the
//  owner does not use.  0, or -1 if a value does not fit the message.
int config_owner_message (const config_t *self, const config_owner_t *owner,
                          sq_owner_t *message);

//  Every owner, as a batch of encoded OWNER frames for topology_set_owners.
//  Caller destroys.  NULL, with the reason in error, if an owner breaks
//  the wire contract's limits.
zmsg_t *config_owners_batch (const config_t *self, char *error, size_t error_size);

//  Every site that has an id, as a batch of encoded SITE frames for
//  topology_set_sites.  Caller destroys.  NULL, with the reason in error,
//  if a site breaks the wire contract's limits.
zmsg_t *config_sites_batch (const config_t *self, char *error, size_t error_size);

//  The owners batch, then the sites as that batch (a site names its
//  owner), handed to every actor of topology (a topology_t *, see
//  broker/topology.h).  0, or -1 with the reason in error.
typedef struct _topology_t topology_t;
int config_hand_sites (const config_t *self, topology_t *topology, char *error,
                       size_t error_size);

//  Parse a duration: "500ms", "30s", "5m", "1h", "2d", "1w", combinations
//  in that order such as "2d12h", "1h30m" or "1m30s", or "0".  0 with *ms
//  set, or -1.
int config_duration_parse (const char *text, uint64_t *ms);

//  Parse a time in ISO 8601, "YYYY-MM-DDTHH:MM[:SS]" then "Z" (UTC) or an
//  offset "+HH:MM" / "-HH:MM", into unix seconds (at least 0).  0 with
//  *unix_s set, or -1.  (config_notify.c)
int config_time_parse (const char *text, int64_t *unix_s);


#ifdef __cplusplus
}
#endif

#endif
