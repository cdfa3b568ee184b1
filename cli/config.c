/*  config.c: the config loader.  See config.h for the two formats.

    This half holds the rules; config_yaml.c reads YAML into a small tree
    of our own (node_t, see config_private.h), every node with its mark, so
    that each rule can point at the exact spot.

    The whole file is parsed before any rule runs, so a YAML syntax error
    anywhere wins over a rule broken above it.  After that, rules run in
    file order and the first broken one is reported.  Sites may come before
    defaults in the file, so each site records which check keys it set
    (given bits) and takes the others from defaults once the file is read.

    The keys and their rules:
        data_dir            non-empty text
        feed                a ZeroMQ endpoint, "scheme://..."
        listen              tcp://HOST:PORT, port 1 to 65532 (PORT + 1 to + 3 are used
                            too: results, feed, snapshot); needs keys
        keys                non-empty text, a folder: hub, hub_secret, allowed/
        heartbeat           duration, 100ms to 1m
        workers: { mode: threads or processes,
                   pingers: whole number, 0 (remote only) to 64 }
        smtp: { url         smtp:// (STARTTLS) or smtps://, required
                from        an address local@domain, required
                user        text without control characters, optional
                password_file  a readable file no one but its owner may
                            read or write (mode 600), optional
                ca_file     a readable file, optional }
        digest_after        whole number, 1 to 100000
        digest_window       duration, 1s to 1h
        give_up_after       duration, 1s to 7d
        retry_max           duration, 1s to 1h
        canaries            list of at most 16 http(s) URLs, each once (in
                            normal form, as a site's url): checked from every
                            region to judge the pingers' own health
        retention: { results  duration, 1h to 90d: raw results kept
                     rollups  duration, 90d to 3650d: hourly rollups kept }
        http, status_page   the HTTP server and what its page shows; rules in
                            config_http.c
        defaults, a site:
          interval          duration, 10s to 24h
          timeout           duration, above 0, at most 10m (SQ_TIMEOUT_MAX_MS)
          method            HEAD or GET, any case
          failure_threshold whole number, 1 to 100
          success_threshold whole number, 1 to 100
          accept            status ranges for sq_ranges_parse ("200-399,401", 200)
          keyword           text, at most SQ_KEYWORD_MAX bytes; empty = none
          max_latency       duration, 0 (none) to 10m
          max_redirects     whole number, 0 to 50
          tls_verify        true or false (also yes/no, on/off)
          remind_every      duration, 0 (never) to 7d
          flap_changes      whole number, 0 (off) to 100
          flap_window       duration, 0 (off) to 1d
          cert_warn_days    list of 1 to 4 whole numbers, 1 to 3650; kept
                            sorted, largest first, each once
          maintenance       list of at most 4 windows, each { start: time,
                            end: time after start, or duration: 1s to 31d
                            (exactly one of the two), every: duration from
                            the length to 366d, optional }; times ISO 8601,
                            "2026-12-01T02:00Z" or "...T02:00:00+01:00".
                            A site's list replaces the defaults' whole
          regions           list of 1 to 16 region names, each once, each 1 to
                            64 letters, digits, '-' or '_'; kept joined with
                            ','; absent = every region with a live pinger.
                            A site's list replaces the defaults' whole
          quorum            whole number, 1 to 16, at most the regions listed
                            (wherever each of the two is set); absent = a
                            majority of the regions that count
        a site only:
          url               required; sq_url_check decides; kept in normal
                            form (sq_url_normalise), unique in it: two
                            spellings of one URL are one site, an error
          owner             a name declared under owners
        owners: NAME (at most 64 bytes) -> every key optional, no channel
                            at all is fine (notifications only logged): {
          email             an address local@domain; needs smtp
          webhook           http(s) URL
          webhook_template  at most 1024 bytes, template_check decides;
                            needs webhook
          slack, discord    http(s) URL, at most 1024 bytes
          command           absolute path of an executable file, at most
                            512 bytes
          quiet             true or false
          maintenance       as for a site
          notify_degraded   true or false }
    The notification keys' rules are in config_notify.c.
*/
#include "config_private.h"
#include "sq_actor.h"
#include "config.h"
#include "sq_url.h"
#include "sq_defaults.h"
#include "topology.h"
#include "store.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

//  Built-in defaults.
#define DEFAULT_DATA_DIR        "./squirrel-data"
#define DEFAULT_INTERVAL_MS     300000
#define DEFAULT_TIMEOUT_MS      20000
#define DEFAULT_THRESHOLD       2
#define DEFAULT_MAX_REDIRECTS   10

//  Longest piece of a bad value quoted back in a message.
#define QUOTE_MAX               60

//  The keys every check has: defaults and each site may set them.
typedef enum {
    KEY_INTERVAL,
    KEY_TIMEOUT,
    KEY_METHOD,
    KEY_FAILURE_THRESHOLD,
    KEY_SUCCESS_THRESHOLD,
    KEY_ACCEPT,
    KEY_KEYWORD,
    KEY_MAX_LATENCY,
    KEY_MAX_REDIRECTS,
    KEY_TLS_VERIFY,
    KEY_REMIND_EVERY,
    KEY_FLAP_CHANGES,
    KEY_FLAP_WINDOW,
    KEY_CERT_WARN_DAYS,
    KEY_MAINTENANCE,
    KEY_REGIONS,
    KEY_QUORUM,
    KEY_COUNT
} check_key_t;
//  given holds one bit per check key.
_Static_assert (KEY_COUNT <= 32, "check keys must fit the given bits");

//  The top-level keys.  defaults, owners and sites are sections, and come
//  last.
typedef enum {
    TOP_DATA_DIR,
    TOP_FEED,
    TOP_LISTEN,
    TOP_KEYS,
    TOP_HEARTBEAT,
    TOP_WORKERS,
    TOP_SMTP,
    TOP_DIGEST_AFTER,
    TOP_DIGEST_WINDOW,
    TOP_GIVE_UP_AFTER,
    TOP_RETRY_MAX,
    TOP_CANARIES,
    TOP_RETENTION,
    TOP_HTTP,
    TOP_STATUS_PAGE,
    TOP_DEFAULTS,
    TOP_OWNERS,
    TOP_SITES
} top_key_t;

//  Key lists, in the order messages show them (and of the enums above).
//  A site's list is url and owner followed by the check keys, so check key
//  k is site key k + 2.
static const char *s_top_keys [] = {
    "data_dir", "feed", "listen", "keys", "heartbeat", "workers", "smtp", "digest_after",
    "digest_window", "give_up_after", "retry_max", "canaries",
    "retention", "http", "status_page", "defaults", "owners", "sites"
};
static const char *s_worker_keys [] = { "mode", "pingers" };
static const char *s_retention_keys [] = { "results", "rollups" };
static const char *s_site_keys [] = {
    "url", "owner", "interval", "timeout", "method", "failure_threshold",
    "success_threshold", "accept", "keyword", "max_latency", "max_redirects", "tls_verify",
    "remind_every", "flap_changes", "flap_window", "cert_warn_days", "maintenance", "regions",
    "quorum"
};
static const char **s_check_keys = s_site_keys + 2;
#define KEYS_COUNT(keys) (sizeof (keys) / sizeof (keys [0]))

//  Durations: the range each duration key accepts (duration_rule_t, in
//  config.h), and how messages say it.
static const duration_rule_t s_interval_rule = {
    CONFIG_INTERVAL_MIN_MS, CONFIG_INTERVAL_MAX_MS, "from 10s to 24h" };
static const duration_rule_t s_heartbeat_rule = {
    SQ_HEARTBEAT_MIN_MS, SQ_HEARTBEAT_MAX_MS, "from 100ms to 1m" };
static const duration_rule_t s_timeout_rule = {
    1, SQ_TIMEOUT_MAX_MS, "above 0 and at most 10m" };
static const duration_rule_t s_latency_rule = {
    0, SQ_TIMEOUT_MAX_MS, "from 0 (no limit) to 10m" };
static const duration_rule_t s_remind_rule = {
    0, SQ_REMIND_MAX_MS, "from 0 (never) to 7d" };
static const duration_rule_t s_flap_window_rule = {
    0, SQ_INTERVAL_MAX_MS, "from 0 (off) to 1d" };
//  Raw results at most as long as the shortest rollups, so that rollups
//  always reach back further; rollups for at least the 90 days of a status
//  page's bars, at most ten years.
static const duration_rule_t s_results_rule = {
    CONFIG_RESULTS_MIN_MS, CONFIG_RESULTS_MAX_MS, "from 1h to 90d" };
static const duration_rule_t s_rollups_rule = {
    CONFIG_ROLLUPS_MIN_MS, CONFIG_ROLLUPS_MAX_MS, "from 90d to 3650d" };

#define DURATION_EXPECTED "a duration such as 500ms, 30s, 5m or 1h"

//  State of one load: loader_t, in config.h.


//  --------------------------------------------------------------------------
//  Small helpers

static char *
s_strdup (const char *text)
{
    char *copy = strdup (text);
    assert (copy);
    return copy;
}

void
config_replace (char **field, const char *text)
{
    free (*field);
    *field = s_strdup (text);
}


//  --------------------------------------------------------------------------
//  Messages (config_fail and config_position serve config_yaml.c too)

//  Record the first error as "FILE:LINE:COLUMN: message".  Returns -1.
int
config_fail (config_source_t *source, int line, int column, const char *format, ...)
{
    if (source->failed)
        return -1;
    source->failed = true;
    int used = snprintf (source->error, source->error_size, "%s:%d:%d: ",
                         source->path, line, column);
    if (used >= 0 && (size_t) used < source->error_size) {
        va_list args;
        va_start (args, format);
        vsnprintf (source->error + used, source->error_size - (size_t) used, format, args);
        va_end (args);
    }
    return -1;
}

//  Line and column (1-based, in characters) of a byte offset in the file.
void
config_position (const config_source_t *source, size_t offset, int *line, int *column)
{
    *line = 1;
    *column = 1;
    for (size_t at = 0; at < offset && at < source->size; at++) {
        if (source->text [at] == '\n') {
            (*line)++;
            *column = 1;
        }
        else
        if (((uint8_t) source->text [at] & 0xC0) != 0x80)
            (*column)++;
    }
}

//  Describe what a node holds, for "got ..." in messages.
static const char *
s_found (const node_t *node, char *buffer, size_t buffer_size)
{
    if (node->kind == NODE_LIST)
        return "a list";
    if (node->kind == NODE_MAPPING)
        return "a mapping";
    if (config_node_is_null (node))
        return "nothing";
    //  A URL is quoted without its password or tokens.
    char quoted [SQ_URL_MAX + 1];
    const char *value = strstr (node->value, "://") && strlen (node->value) <= SQ_URL_MAX
                      ? sq_url_quoted (node->value, quoted, sizeof (quoted)) : node->value;
    if (strlen (value) > QUOTE_MAX)
        snprintf (buffer, buffer_size, "'%.*s...'", QUOTE_MAX, value);
    else
        snprintf (buffer, buffer_size, "'%s'", value);
    return buffer;
}

//  "KEY: expected WHAT, got FOUND" at the node.  key may be NULL.
int
config_expected (loader_t *loader, const node_t *node, const char *key, const char *what)
{
    char buffer [QUOTE_MAX + 8];
    return config_fail (&loader->source, node->line, node->column, "%s%sexpected %s, got %s",
                        key ? key : "", key ? ": " : "", what,
                        s_found (node, buffer, sizeof (buffer)));
}

//  A list of names joined by ", ", for "expected one of" messages.
static void
s_join (char *buffer, size_t buffer_size, const char **names, size_t count)
{
    size_t used = 0;
    buffer [0] = '\0';
    for (size_t index = 0; index < count && used < buffer_size; index++) {
        int wrote = snprintf (buffer + used, buffer_size - used, "%s%s",
                              index ? ", " : "", names [index]);
        if (wrote < 0)
            break;
        used += (size_t) wrote;
    }
}

//  The key of pair number pair in mapping given before, or NULL.  Small
//  mappings are searched; a large one (an owners list) gets a table of the
//  keys seen, filled as its pairs are checked in order, so that a file
//  with n owners loads in O(n), not O(n^2).
#define S_KEY_TABLE_FROM    16      //  pairs before a mapping gets a table

static void
s_key_table_destroy (void **item)
{
    zhashx_destroy ((zhashx_t **) item);
}

static const node_t *
s_key_seen (loader_t *loader, const node_t *mapping, size_t pair)
{
    const node_t *key = mapping->children [pair * 2];
    if (mapping->count / 2 < S_KEY_TABLE_FROM) {
        for (size_t before = 0; before < pair; before++) {
            const node_t *earlier = mapping->children [before * 2];
            if (earlier->kind == NODE_SCALAR && strcmp (earlier->value, key->value) == 0)
                return earlier;
        }
        return NULL;
    }
    if (!loader->key_tables) {
        //  Keyed by the mapping's address, as an id.
        loader->key_tables = sq_id_table_new (s_key_table_destroy);
    }
    zhashx_t *seen = (zhashx_t *) zhashx_lookup (loader->key_tables, mapping);
    if (!seen) {
        seen = zhashx_new ();       //  key text (copied) -> the key node
        assert (seen);
        zhashx_insert (loader->key_tables, mapping, seen);
    }
    //  Pairs are checked in order; the keys before this one are all in.
    for (size_t before = zhashx_size (seen); before < pair; before++) {
        const node_t *earlier = mapping->children [before * 2];
        if (earlier->kind == NODE_SCALAR && !zhashx_lookup (seen, earlier->value))
            zhashx_insert (seen, earlier->value, (void *) earlier);
    }
    return (const node_t *) zhashx_lookup (seen, key->value);
}

//  Look at the key of pair number pair in mapping: a name, not given
//  before in the same mapping and, when keys is not NULL, one of them.
//  Returns its index in keys (0 when keys is NULL), or -1 on error.
//  where says which mapping, for messages: "in site", "at top level".
int
config_key_check (loader_t *loader, const node_t *mapping, size_t pair, const char *where,
                  const char **keys, size_t key_count)
{
    const node_t *key = mapping->children [pair * 2];
    if (key->kind != NODE_SCALAR || config_node_is_null (key))
        return config_expected (loader, key, NULL, "a key name");
    const node_t *earlier = s_key_seen (loader, mapping, pair);
    if (earlier)
        return config_fail (&loader->source, key->line, key->column,
                            "duplicate key '%s' %s: expected each key once, "
                            "got it first on line %d", key->value, where, earlier->line);
    if (!keys)
        return 0;
    for (size_t index = 0; index < key_count; index++)
        if (strcmp (key->value, keys [index]) == 0)
            return (int) index;
    char expected [512];
    s_join (expected, sizeof (expected), keys, key_count);
    char buffer [QUOTE_MAX + 8];
    return config_fail (&loader->source, key->line, key->column,
                        "unknown key %s %s; expected one of: %s",
                        s_found (key, buffer, sizeof (buffer)), where, expected);
}


//  --------------------------------------------------------------------------
//  Values

//  Text: a scalar that is not null.  Returns the borrowed text, or NULL.
const char *
config_text (loader_t *loader, const node_t *node, const char *key, const char *what)
{
    if (node->kind != NODE_SCALAR || config_node_is_null (node) || !*node->value) {
        config_expected (loader, node, key, what);
        return NULL;
    }
    return node->value;
}

int
config_duration (loader_t *loader, const node_t *node, const char *key,
                 const duration_rule_t *rule, uint64_t *value)
{
    uint64_t ms;
    if (node->kind != NODE_SCALAR || config_duration_parse (node->value, &ms))
        return config_expected (loader, node, key, DURATION_EXPECTED);
    if (ms < rule->min_ms || ms > rule->max_ms) {
        char expected [96];
        snprintf (expected, sizeof (expected), "a duration %s", rule->range);
        return config_expected (loader, node, key, expected);
    }
    *value = ms;
    return 0;
}

//  A duration into a 32-bit field: rule->max_ms must fit.
static int
s_duration (loader_t *loader, const node_t *node, const char *key,
            const duration_rule_t *rule, uint32_t *value)
{
    assert (rule->max_ms <= UINT32_MAX);
    uint64_t ms = 0;
    if (config_duration (loader, node, key, rule, &ms))
        return -1;
    *value = (uint32_t) ms;
    return 0;
}

int
config_whole (loader_t *loader, const node_t *node, const char *key,
              uint32_t min, uint32_t max, uint32_t *value)
{
    uint64_t number = 0;
    bool valid = node->kind == NODE_SCALAR && *node->value;
    for (const char *digit = node->value; valid && *digit; digit++) {
        valid = *digit >= '0' && *digit <= '9';
        number = number * 10 + (uint64_t) (*digit - '0');
        valid = valid && number <= max;
    }
    if (!valid || number < min) {
        char expected [64];
        snprintf (expected, sizeof (expected), "a whole number from %u to %u", min, max);
        return config_expected (loader, node, key, expected);
    }
    *value = (uint32_t) number;
    return 0;
}

int
config_bool (loader_t *loader, const node_t *node, const char *key, bool *value)
{
    static const char *yes [] = { "true", "yes", "on" };
    static const char *no [] = { "false", "no", "off" };
    for (size_t index = 0; node->kind == NODE_SCALAR && index < KEYS_COUNT (yes); index++) {
        if (strcasecmp (node->value, yes [index]) == 0) {
            *value = true;
            return 0;
        }
        if (strcasecmp (node->value, no [index]) == 0) {
            *value = false;
            return 0;
        }
    }
    return config_expected (loader, node, key, "true or false");
}

//  A URL we may check or post to, in normal form: the reason comes from
//  sq_url_normalise.
const char *
config_url (loader_t *loader, const node_t *node, const char *key)
{
    if (node->kind != NODE_SCALAR || config_node_is_null (node)) {
        config_expected (loader, node, key, "an http or https URL");
        return NULL;
    }
    char why [SQ_TEXT_MAX];
    if (sq_url_normalise (node->value, loader->url, sizeof (loader->url), why, sizeof (why))) {
        config_fail (&loader->source, node->line, node->column, "%s: %s", key, why);
        return NULL;
    }
    return loader->url;
}

//  One check key of defaults or of a site.
static int
s_check_value (loader_t *loader, const node_t *node, check_key_t key, config_site_t *site)
{
    const char *name = s_check_keys [key];
    switch (key) {
        case KEY_INTERVAL:
            return s_duration (loader, node, name, &s_interval_rule, &site->interval_ms);
        case KEY_TIMEOUT:
            return s_duration (loader, node, name, &s_timeout_rule, &site->timeout_ms);
        case KEY_MAX_LATENCY:
            return s_duration (loader, node, name, &s_latency_rule, &site->max_latency_ms);
        case KEY_FAILURE_THRESHOLD:
            return config_whole (loader, node, name, 1, CONFIG_THRESHOLD_MAX,
                                 &site->failure_threshold);
        case KEY_SUCCESS_THRESHOLD:
            return config_whole (loader, node, name, 1, CONFIG_THRESHOLD_MAX,
                                 &site->success_threshold);
        case KEY_MAX_REDIRECTS:
            return config_whole (loader, node, name, 0, CONFIG_REDIRECTS_MAX,
                                 &site->max_redirects);
        case KEY_TLS_VERIFY:
            return config_bool (loader, node, name, &site->tls_verify);
        case KEY_METHOD: {
            int method = node->kind == NODE_SCALAR ? sq_method_from_name (node->value) : -1;
            if (method < 0)
                return config_expected (loader, node, name, "HEAD or GET");
            site->method = (sq_method_t) method;
            return 0;
        }
        case KEY_ACCEPT: {
            size_t error_at;
            if (node->kind != NODE_SCALAR
            ||  sq_ranges_parse (node->value, &site->accept, &error_at))
                return config_expected (loader, node, name,
                                        "status ranges such as 200-399 or 200,301-302");
            return 0;
        }
        case KEY_KEYWORD: {
            if (node->kind != NODE_SCALAR)
                return config_expected (loader, node, name, "text");
            const char *keyword = config_node_is_null (node) ? "" : node->value;
            size_t length = strlen (keyword);
            if (length > SQ_KEYWORD_MAX) {
                char expected [64];
                snprintf (expected, sizeof (expected), "at most %d bytes", SQ_KEYWORD_MAX);
                return config_fail (&loader->source, node->line, node->column,
                                    "%s: expected %s, got %zu", name, expected, length);
            }
            config_replace (&site->keyword, keyword);
            return 0;
        }
        case KEY_REMIND_EVERY:
            return s_duration (loader, node, name, &s_remind_rule, &site->remind_every_ms);
        case KEY_FLAP_CHANGES:
            return config_whole (loader, node, name, 0, SQ_FLAP_CHANGES_MAX, &site->flap_changes);
        case KEY_FLAP_WINDOW:
            return s_duration (loader, node, name, &s_flap_window_rule, &site->flap_window_ms);
        case KEY_CERT_WARN_DAYS:
            return config_days_parse (loader, node, name, &site->cert_warn_days);
        case KEY_MAINTENANCE:
            return config_windows_parse (loader, node, name, &site->maintenance);
        case KEY_REGIONS:
            return config_regions_parse (loader, node, name, &site->regions);
        case KEY_QUORUM:
            //  0 is what an absent quorum means (a majority); written out
            //  it is more likely a mistake than a wish, so it is refused.
            return config_whole (loader, node, name, 1, SQ_REGIONS_MAX, &site->quorum);
        case KEY_COUNT:
            break;
    }
    assert (false);
    return -1;
}


//  --------------------------------------------------------------------------
//  Sites, and the URL index that keeps them unique

static void
s_site_defaults (config_site_t *site)
{
    memset (site, 0, sizeof (*site));
    site->interval_ms = DEFAULT_INTERVAL_MS;
    site->timeout_ms = DEFAULT_TIMEOUT_MS;
    site->method = SQ_METHOD_HEAD;
    site->failure_threshold = DEFAULT_THRESHOLD;
    site->success_threshold = DEFAULT_THRESHOLD;
    site->keyword = s_strdup ("");
    site->regions = s_strdup ("");
    site->max_redirects = DEFAULT_MAX_REDIRECTS;
    site->tls_verify = true;
    site->remind_every_ms = SQ_NOTIFY_REMIND_MS;
    site->flap_changes = SQ_NOTIFY_FLAP_CHANGES;
    site->flap_window_ms = SQ_NOTIFY_FLAP_WINDOW_MS;
    site->cert_warn_days = (sq_days_t) { .count = 2, .day = { 14, 3 } };
}

static void
s_site_free (config_site_t *site)
{
    free (site->url);
    free (site->owner);
    free (site->keyword);
    free (site->regions);
    site->url = site->owner = site->keyword = site->regions = NULL;
}

//  Copy every check key not in given from defaults into site.
static void
s_site_complete (config_site_t *site, const config_site_t *defaults, uint32_t given)
{
    #define S_TAKE(key, field) \
        if (!(given & (1u << (key)))) site->field = defaults->field;
    S_TAKE (KEY_INTERVAL, interval_ms)
    S_TAKE (KEY_TIMEOUT, timeout_ms)
    S_TAKE (KEY_METHOD, method)
    S_TAKE (KEY_FAILURE_THRESHOLD, failure_threshold)
    S_TAKE (KEY_SUCCESS_THRESHOLD, success_threshold)
    S_TAKE (KEY_ACCEPT, accept)
    S_TAKE (KEY_MAX_LATENCY, max_latency_ms)
    S_TAKE (KEY_MAX_REDIRECTS, max_redirects)
    S_TAKE (KEY_TLS_VERIFY, tls_verify)
    S_TAKE (KEY_REMIND_EVERY, remind_every_ms)
    S_TAKE (KEY_FLAP_CHANGES, flap_changes)
    S_TAKE (KEY_FLAP_WINDOW, flap_window_ms)
    S_TAKE (KEY_CERT_WARN_DAYS, cert_warn_days)
    S_TAKE (KEY_MAINTENANCE, maintenance)       //  the whole list: a site's replaces
    S_TAKE (KEY_QUORUM, quorum)
    #undef S_TAKE
    if (!(given & (1u << KEY_KEYWORD)))
        config_replace (&site->keyword, defaults->keyword);
    if (!(given & (1u << KEY_REGIONS)))
        config_replace (&site->regions, defaults->regions);     //  the whole list
}

//  FNV-1a: the URL index only needs a spread, not strength.
static size_t
s_hash (const char *text)
{
    uint64_t hash = 14695981039346656037u;
    for (; *text; text++)
        hash = (hash ^ (uint8_t) *text) * 1099511628211u;
    return (size_t) hash;
}

//  A slot holds the site's index + 1 in its low half and the low half of
//  its URL's hash in the high: a probe compares URLs only when the hashes
//  agree, and growing the index (at most 2^32 slots) hashes no URL again.
#define S_SLOT_SITE(slot)   ((size_t) ((slot) & 0xffffffffu) - 1)
#define S_SLOT_HASH(slot)   ((uint32_t) ((slot) >> 32))

//  Index of the site with url among the loaded ones, or -1.
static long
s_index_find (loader_t *loader, const char *url)
{
    if (!loader->slot_count)
        return -1;
    size_t mask = loader->slot_count - 1;
    uint32_t hash = (uint32_t) s_hash (url);
    for (size_t slot = hash & mask; loader->slots [slot]; slot = (slot + 1) & mask) {
        uint64_t entry = loader->slots [slot];
        if (S_SLOT_HASH (entry) == hash
        &&  strcmp (loader->config->sites [S_SLOT_SITE (entry)].url, url) == 0)
            return (long) S_SLOT_SITE (entry);
    }
    return -1;
}

static void
s_index_put (uint64_t *slots, size_t mask, uint64_t entry)
{
    size_t slot = S_SLOT_HASH (entry) & mask;
    while (slots [slot])
        slot = (slot + 1) & mask;
    slots [slot] = entry;
}

//  Add site number site to the index, growing it to stay at most half full.
static void
s_index_add (loader_t *loader, size_t site)
{
    assert (site + 1 < UINT32_MAX && loader->slot_count < (size_t) UINT32_MAX);
    if ((site + 1) * 2 > loader->slot_count) {
        size_t count = loader->slot_count ? loader->slot_count * 2 : 64;
        uint64_t *slots = (uint64_t *) calloc (count, sizeof (uint64_t));
        assert (slots);
        for (size_t old = 0; old < loader->slot_count; old++)
            if (loader->slots [old])
                s_index_put (slots, count - 1, loader->slots [old]);
        free (loader->slots);
        loader->slots = slots;
        loader->slot_count = count;
    }
    uint32_t hash = (uint32_t) s_hash (loader->config->sites [site].url);
    s_index_put (loader->slots, loader->slot_count - 1,
                 ((uint64_t) hash << 32) | (uint64_t) (site + 1));
}

//  Room for count sites more, at least, without moving the arrays again
//  (a file's list is known before its first site is parsed: one move, not
//  a doubling per power of two).
static void
s_sites_reserve (loader_t *loader, size_t count)
{
    config_t *config = loader->config;
    if (config->site_count + count <= loader->site_cap)
        return;
    loader->site_cap = config->site_count + count;
    config->sites = (config_site_t *) realloc (config->sites,
                                               loader->site_cap * sizeof (config_site_t));
    loader->given = (uint32_t *) realloc (loader->given, loader->site_cap * sizeof (uint32_t));
    loader->origins = (url_origin_t *) realloc (loader->origins,
                                                loader->site_cap * sizeof (url_origin_t));
    assert (config->sites && loader->given && loader->origins);
}

//  A new zeroed site at the end of config->sites, with no given keys.
static config_site_t *
s_site_append (loader_t *loader)
{
    config_t *config = loader->config;
    if (config->site_count == loader->site_cap)
        s_sites_reserve (loader, loader->site_cap ? loader->site_cap : 16);
    config_site_t *site = &config->sites [config->site_count];
    memset (site, 0, sizeof (*site));
    loader->given [config->site_count] = 0;
    loader->origins [config->site_count] = (url_origin_t) { NULL, 0, 0 };
    config->site_count++;
    return site;
}

//  "URL 'WRITTEN' is the same site as FILE:LINE:COLUMN ('FIRST')" at here:
//  two spellings with one normal form.  what names the list: "site",
//  "canary".  Each URL is quoted as written, so that the user finds both.
static int
s_same_site (loader_t *loader, const char *what, const url_origin_t *here,
             const url_origin_t *first)
{
    char written [SQ_URL_MAX + 1], earlier [SQ_URL_MAX + 1];
    return config_fail (&loader->source, here->line, here->column,
                        "%s URL '%s' is the same site as %s:%d:%d ('%s')", what,
                        sq_url_quoted (here->written, written, sizeof (written)),
                        loader->source.path, first->line, first->column,
                        sq_url_quoted (first->written, earlier, sizeof (earlier)));
}

//  Set the URL of the last site appended to normal, the normal form of
//  the URL written at origin, refusing one already loaded.
static int
s_site_set_url (loader_t *loader, config_site_t *site, const char *normal,
                const url_origin_t *origin)
{
    size_t index = (size_t) (site - loader->config->sites);
    long first = s_index_find (loader, normal);
    if (first >= 0)
        return s_same_site (loader, "site", origin, &loader->origins [first]);
    site->url = s_strdup (normal);
    loader->origins [index] = *origin;
    s_index_add (loader, index);
    return 0;
}

//  Canaries in normal form are unique as sites are: a duplicate names both
//  places.  Runs before config_canaries_parse (config_sites.c), which then
//  finds no equal pair; it stops at the first item that is not a URL, or
//  past the most canaries, which that reports, so that mistakes still come
//  in file order.
static int
s_canaries_unique (loader_t *loader, const node_t *list)
{
    if (list->kind != NODE_LIST)
        return 0;
    size_t count = list->count < CONFIG_CANARIES_MAX ? list->count : CONFIG_CANARIES_MAX;
    char *normal [CONFIG_CANARIES_MAX] = { NULL };
    char why [SQ_TEXT_MAX];
    int rc = 0;
    for (size_t index = 0; index < count && rc == 0; index++) {
        const node_t *item = list->children [index];
        if (item->kind != NODE_SCALAR || config_node_is_null (item)
        ||  sq_url_normalise (item->value, loader->url, sizeof (loader->url), why, sizeof (why)))
            break;
        normal [index] = s_strdup (loader->url);
        for (size_t before = 0; before < index && rc == 0; before++)
            if (strcmp (normal [before], normal [index]) == 0) {
                const node_t *earlier = list->children [before];
                url_origin_t here = { item->value, item->line, item->column };
                url_origin_t first = { earlier->value, earlier->line, earlier->column };
                rc = s_same_site (loader, "canary", &here, &first);
            }
    }
    for (size_t index = 0; index < count; index++)
        free (normal [index]);
    return rc;
}


//  --------------------------------------------------------------------------
//  The YAML format: the rules, over the tree config_yaml.c reads

//  Does the owners mapping declare name?
static bool
s_owner_declared (loader_t *loader, const char *name)
{
    const node_t *owners = loader->owners;
    if (!owners)
        return false;
    if (!loader->owner_names) {
        //  One table for every site's look-up: sites x owners is too many.
        loader->owner_names = zhashx_new ();
        assert (loader->owner_names);
        for (size_t pair = 0; pair < owners->count / 2; pair++) {
            const node_t *key = owners->children [pair * 2];
            if (key->kind == NODE_SCALAR && !zhashx_lookup (loader->owner_names, key->value))
                zhashx_insert (loader->owner_names, key->value, (void *) key);
        }
    }
    return zhashx_lookup (loader->owner_names, name) != NULL;
}

//  The value of key name in mapping, or NULL.
static const node_t *
s_value_find (const node_t *mapping, const char *name)
{
    for (size_t pair = 0; mapping && pair < mapping->count / 2; pair++) {
        const node_t *key = mapping->children [pair * 2];
        if (key->kind == NODE_SCALAR && strcmp (key->value, name) == 0)
            return mapping->children [pair * 2 + 1];
    }
    return NULL;
}

//  A quorum larger than the regions listed could never be reached: refuse
//  it.  at is the value reported: the quorum's when at_quorum, else the
//  regions'.  other says where the other one of the two came from: "" (the
//  same mapping) or " in defaults".  No regions listed (every live region)
//  is decided at run time: too few regions then is "unmonitored".
static int
s_quorum_check (loader_t *loader, const char *regions, uint32_t quorum, const node_t *at,
                bool at_quorum, const char *other)
{
    size_t count = config_region_count (regions);
    if (count == 0 || quorum <= count)
        return 0;
    if (at_quorum)
        return config_fail (&loader->source, at->line, at->column,
                            "quorum: expected at most %zu, the regions listed%s (%.*s), got %u",
                            count, other, QUOTE_MAX, regions, quorum);
    return config_fail (&loader->source, at->line, at->column,
                        "regions: expected at least %u names, the quorum%s, got %zu (%.*s)",
                        quorum, other, count, QUOTE_MAX, regions);
}

//  Sites that set one of regions and quorum and take the other from
//  defaults: checked once the whole file is read, as defaults may come
//  after the sites.  The one the site set is reported.  node is the site's
//  mapping.
static int
s_site_parse (loader_t *loader, const node_t *node);

static int
s_quorum_check_site (loader_t *loader, size_t index, const node_t *node)
{
    const config_t *config = loader->config;
    const config_site_t *defaults = &config->defaults;
    uint32_t both = (1u << KEY_REGIONS) | (1u << KEY_QUORUM);
    const config_site_t *site = &config->sites [index];
    uint32_t given = loader->given [index] & both;
    if (given == (1u << KEY_QUORUM))
        return s_quorum_check (loader, defaults->regions, site->quorum,
                               s_value_find (node, "quorum"), true, " in defaults");
    if (given == (1u << KEY_REGIONS))
        return s_quorum_check (loader, site->regions, defaults->quorum,
                               s_value_find (node, "regions"), false, " in defaults");
    return 0;
}

static int
s_quorum_check_sites (loader_t *loader, const node_t *sites)
{
    //  Every item of sites made one site, in order (rc was 0 throughout).
    for (size_t index = 0; sites && index < sites->count; index++) {
        assert (index < loader->config->site_count);
        if (s_quorum_check_site (loader, index, sites->children [index]))
            return -1;
    }
    return 0;
}

static int
s_site_parse (loader_t *loader, const node_t *node)
{
    if (node->kind != NODE_MAPPING)
        return config_expected (loader, node, "site",
                                "a mapping such as 'url: https://example.com/'");
    config_site_t *site = s_site_append (loader);
    uint32_t *given = &loader->given [loader->config->site_count - 1];
    site->line = node->line;
    const node_t *quorum = NULL;        //  the site's quorum value, if it sets one
    for (size_t pair = 0; pair < node->count / 2; pair++) {
        int key = config_key_check (loader, node, pair, "in site", s_site_keys,
                                    KEYS_COUNT (s_site_keys));
        if (key < 0)
            return -1;
        const node_t *value = node->children [pair * 2 + 1];
        if (key == 0) {
            const char *url = config_url (loader, value, "url");
            url_origin_t origin = { value->value, value->line, value->column };
            if (!url || s_site_set_url (loader, site, url, &origin))
                return -1;
        }
        else
        if (key == 1) {
            const char *owner = config_text (loader, value, "owner", "an owner name");
            if (!owner)
                return -1;
            if (!s_owner_declared (loader, owner))
                return config_expected (loader, value, "owner",
                                        "an owner declared under owners");
            config_replace (&site->owner, owner);
        }
        else {
            if (s_check_value (loader, value, (check_key_t) (key - 2), site))
                return -1;
            *given |= 1u << (key - 2);
            if (key - 2 == KEY_QUORUM)
                quorum = value;
        }
    }
    if (!site->url)
        return config_fail (&loader->source, node->line, node->column,
                            "site: expected a url key (url: https://...), got none");
    //  Both set here: checked now.  One from defaults: at the end.
    if (quorum && (*given & (1u << KEY_REGIONS)))
        return s_quorum_check (loader, site->regions, site->quorum, quorum, true, "");
    return 0;
}

//  A ZeroMQ endpoint: "transport://address", transport in letters.
static bool
s_endpoint_valid (const char *text)
{
    size_t letters = strspn (text, "abcdefghijklmnopqrstuvwxyz");
    return letters > 0 && strncmp (text + letters, "://", 3) == 0 && text [letters + 3];
}

//  A section (defaults, owners, sites) may be left empty, which keeps what
//  is built in; otherwise it holds one kind of node.
typedef struct {
    node_kind_t kind;           //  the kind of node it holds
    const char *what;           //  that, in words, for messages
} section_rule_t;

static const section_rule_t s_section_rules [] = {
    [TOP_DEFAULTS] = { NODE_MAPPING, "a mapping such as 'interval: 5m'" },
    [TOP_OWNERS] = { NODE_MAPPING,
                     "a mapping of names such as 'alice: { webhook: https://... }'" },
    [TOP_SITES] = { NODE_LIST, "a list of sites such as '- url: https://example.com/'" }
};

static int
s_top_value (loader_t *loader, top_key_t key, const node_t *value)
{
    config_t *config = loader->config;
    if (key >= TOP_DEFAULTS) {
        if (config_node_is_null (value))
            return 0;
        if (value->kind != s_section_rules [key].kind)
            return config_expected (loader, value, s_top_keys [key], s_section_rules [key].what);
    }
    switch (key) {
        case TOP_DATA_DIR: {
            const char *data_dir = config_text (loader, value, "data_dir", "a folder name");
            if (!data_dir)
                return -1;
            config_replace (&config->data_dir, data_dir);
            return 0;
        }
        case TOP_FEED: {
            const char *what = "a ZeroMQ endpoint such as ipc:///var/lib/squirrel/feed";
            const char *feed = config_text (loader, value, "feed", what);
            if (!feed)
                return -1;
            if (!s_endpoint_valid (feed))
                return config_expected (loader, value, "feed", what);
            config_replace (&config->feed, feed);
            return 0;
        }
        case TOP_LISTEN: {
            const char *what = "a tcp://HOST:PORT endpoint such as tcp://0.0.0.0:7700";
            const char *listen = config_text (loader, value, "listen", what);
            char jobs [256], results [256], feed [256], snapshot [256], why [256];
            if (!listen)
                return -1;
            //  All four ports must exist (PORT to PORT + 3), as the
            //  topology will bind them: a port the loader took and the
            //  start refused would surface only at run time.
            if (strlen (listen) > 200
            ||  topology_remote_endpoints (listen, jobs, results, why, sizeof (why))
            ||  topology_remote_feed_endpoints (listen, feed, snapshot, why, sizeof (why)))
                return config_expected (loader, value, "listen",
                                        "a tcp://HOST:PORT endpoint, PORT 1 to 65532, such as "
                                        "tcp://0.0.0.0:7700");
            config_replace (&config->listen, listen);
            loader->listen = value;
            return 0;
        }
        case TOP_KEYS: {
            const char *keys = config_text (loader, value, "keys", "a folder name such as ./keys");
            if (!keys)
                return -1;
            config_replace (&config->keys, keys);
            return 0;
        }
        case TOP_HEARTBEAT:
            return s_duration (loader, value, "heartbeat", &s_heartbeat_rule,
                               &config->heartbeat_ms);
        case TOP_WORKERS:
            if (value->kind != NODE_MAPPING)
                return config_expected (loader, value, "workers",
                                        "a mapping such as '{ mode: threads, pingers: 2 }'");
            for (size_t pair = 0; pair < value->count / 2; pair++) {
                int worker_key = config_key_check (loader, value, pair, "in workers",
                                                   s_worker_keys, KEYS_COUNT (s_worker_keys));
                const node_t *item = value->children [pair * 2 + 1];
                if (worker_key < 0)
                    return -1;
                if (worker_key == 0) {
                    if (item->kind != NODE_SCALAR
                    ||  (strcmp (item->value, "threads") && strcmp (item->value, "processes")))
                        return config_expected (loader, item, "mode", "threads or processes");
                    config->processes = strcmp (item->value, "processes") == 0;
                }
                else {
                    uint32_t pingers;
                    if (config_whole (loader, item, "pingers", 0, CONFIG_PINGERS_MAX, &pingers))
                        return -1;
                    config->pingers = (int) pingers;
                    loader->pingers = item;
                }
            }
            return 0;
        case TOP_SMTP:
            return config_smtp_parse (loader, value);
        case TOP_DIGEST_AFTER:
        case TOP_DIGEST_WINDOW:
        case TOP_GIVE_UP_AFTER:
        case TOP_RETRY_MAX:
            return config_notify_setting (loader, s_top_keys [key], value);
        case TOP_CANARIES:
            if (s_canaries_unique (loader, value))
                return -1;
            return config_canaries_parse (loader, value);
        case TOP_RETENTION:
            if (value->kind != NODE_MAPPING)
                return config_expected (loader, value, "retention",
                                        "a mapping such as '{ results: 24h, rollups: 400d }'");
            for (size_t pair = 0; pair < value->count / 2; pair++) {
                int retention_key = config_key_check (loader, value, pair, "in retention",
                                                      s_retention_keys,
                                                      KEYS_COUNT (s_retention_keys));
                if (retention_key < 0
                ||  config_duration (loader, value->children [pair * 2 + 1],
                                     s_retention_keys [retention_key],
                                     retention_key == 0 ? &s_results_rule : &s_rollups_rule,
                                     retention_key == 0 ? &config->retention_results_ms
                                                        : &config->retention_rollups_ms))
                    return -1;
            }
            return 0;
        case TOP_HTTP:
            return config_http_parse (loader, value);
        case TOP_STATUS_PAGE:
            return config_status_page_parse (loader, value);
        case TOP_DEFAULTS: {
            for (size_t pair = 0; pair < value->count / 2; pair++) {
                int check = config_key_check (loader, value, pair, "in defaults", s_check_keys,
                                              KEY_COUNT);
                if (check < 0 || s_check_value (loader, value->children [pair * 2 + 1],
                                                (check_key_t) check, &config->defaults))
                    return -1;
            }
            const node_t *quorum = s_value_find (value, "quorum");
            return quorum ? s_quorum_check (loader, config->defaults.regions,
                                            config->defaults.quorum, quorum, true, "") : 0;
        }
        case TOP_OWNERS:
            config->owners = (config_owner_t *) calloc (value->count / 2 + 1,
                                                        sizeof (config_owner_t));
            assert (config->owners);
            for (size_t pair = 0; pair < value->count / 2; pair++)
                if (config_key_check (loader, value, pair, "in owners", NULL, 0)
                ||  config_owner_parse (loader, value->children [pair * 2],
                                        value->children [pair * 2 + 1]))
                    return -1;
            return 0;
        case TOP_SITES:
            s_sites_reserve (loader, value->count);
            for (size_t index = 0; index < value->count; index++)
                if (s_site_parse (loader, value->children [index]))
                    return -1;
            return 0;
    }
    assert (false);
    return -1;
}

//  The first top-level mapping called name, or NULL.  A second one is a
//  duplicate key error anyway.
static const node_t *
s_section_find (const node_t *root, const char *name)
{
    for (size_t pair = 0; pair < root->count / 2; pair++) {
        const node_t *key = root->children [pair * 2];
        const node_t *value = root->children [pair * 2 + 1];
        if (key->kind == NODE_SCALAR && strcmp (key->value, name) == 0)
            return value->kind == NODE_MAPPING ? value : NULL;
    }
    return NULL;
}

static int
s_document (loader_t *loader, const node_t *root)
{
    if (root->kind != NODE_MAPPING)
        return config_expected (loader, root, NULL,
                                "a mapping with keys such as data_dir, defaults, owners and sites");
    //  Site owners are checked against the names under owners, and owners'
    //  email against smtp, wherever those are in the file.
    loader->owners = s_section_find (root, "owners");
    loader->smtp = s_section_find (root, "smtp");
    for (size_t pair = 0; pair < root->count / 2; pair++) {
        int key = config_key_check (loader, root, pair, "at top level", s_top_keys,
                                    KEYS_COUNT (s_top_keys));
        if (key < 0 || s_top_value (loader, (top_key_t) key, root->children [pair * 2 + 1]))
            return -1;
    }
    //  tcp without CURVE never runs: a listen needs the keys folder.
    if (loader->listen && !loader->config->keys)
        return config_fail (&loader->source, loader->listen->line, loader->listen->column,
                            "listen: expected a keys folder beside it (keys: ./keys), got none: "
                            "tcp links run only with CURVE");
    //  No local pinger and nowhere for a remote one to connect: nothing
    //  would ever be checked.
    if (loader->pingers && loader->config->pingers == 0 && !loader->config->listen)
        return config_fail (&loader->source, loader->pingers->line, loader->pingers->column,
                            "pingers: 0 means remote pingers only, which needs listen: "
                            "(tcp://HOST:PORT) for them to connect to");
    //  A site's quorum against regions from defaults, or the other way.
    const node_t *sites = s_value_find (root, "sites");
    return s_quorum_check_sites (loader, sites && sites->kind == NODE_LIST ? sites : NULL);
}


//  --------------------------------------------------------------------------
//  The plain list format

//  Does the line at text start with a URL scheme, "letters://"?
static bool
s_starts_with_scheme (const char *text)
{
    const char *at = text;
    if (!((*at >= 'a' && *at <= 'z') || (*at >= 'A' && *at <= 'Z')))
        return false;
    while ((*at >= 'a' && *at <= 'z') || (*at >= 'A' && *at <= 'Z')
       ||  (*at >= '0' && *at <= '9') || *at == '+' || *at == '-' || *at == '.')
        at++;
    return strncmp (at, "://", 3) == 0;
}

//  The first line that is neither blank nor a comment, after its leading
//  white space; NULL if there is none.
static const char *
s_first_content (const char *text)
{
    for (const char *line = text; line && *line; ) {
        const char *at = line + strspn (line, " \t\r");
        if (*at && *at != '\n' && *at != '#')
            return at;
        line = strchr (at, '\n');
        if (line)
            line++;
    }
    return NULL;
}

static int
s_list_parse (loader_t *loader, char *text)
{
    int number = 0;
    for (char *line = text; line; ) {
        number++;
        char *next = strchr (line, '\n');
        if (next)
            *next++ = '\0';
        char *url = line + strspn (line, " \t");
        int column = (int) (url - line) + 1;
        //  A comment starts at a '#' that begins the line or follows white
        //  space; a '#' inside a URL is its fragment.
        for (char *hash = url; *hash; hash++)
            if (*hash == '#' && (hash == url || hash [-1] == ' ' || hash [-1] == '\t')) {
                *hash = '\0';
                break;
            }
        size_t length = strlen (url);
        while (length && (url [length - 1] == ' ' || url [length - 1] == '\t'
                      ||  url [length - 1] == '\r'))
            url [--length] = '\0';
        if (length) {
            char why [SQ_TEXT_MAX];
            if (sq_url_normalise (url, loader->url, sizeof (loader->url), why, sizeof (why)))
                return config_fail (&loader->source, number, column, "%s", why);
            config_site_t *site = s_site_append (loader);
            site->line = number;
            url_origin_t origin = { url, number, column };
            if (s_site_set_url (loader, site, loader->url, &origin))
                return -1;
        }
        line = next;
    }
    return 0;
}


//  --------------------------------------------------------------------------
//  Loading

//  The whole file, NUL-terminated, or NULL with "PATH: cannot read: ...".
static char *
s_read_file (const char *path, size_t *size, char *error, size_t error_size)
{
    FILE *file = fopen (path, "rb");
    if (!file) {
        snprintf (error, error_size, "%s: cannot read: %s", path, strerror (errno));
        return NULL;
    }
    size_t used = 0, capacity = 4096;
    char *text = (char *) malloc (capacity + 1);
    assert (text);
    while (true) {
        if (used == capacity) {
            capacity *= 2;
            text = (char *) realloc (text, capacity + 1);
            assert (text);
        }
        size_t got = fread (text + used, 1, capacity - used, file);
        used += got;
        if (got == 0 || used > CONFIG_FILE_MAX)
            break;
    }
    int code = ferror (file) ? errno : 0;
    fclose (file);
    if (code || used > CONFIG_FILE_MAX) {
        if (code)
            snprintf (error, error_size, "%s: cannot read: %s", path, strerror (code));
        else
            snprintf (error, error_size, "%s: cannot read: larger than %d MiB, "
                      "expected a config file", path, CONFIG_FILE_MAX >> 20);
        free (text);
        return NULL;
    }
    text [used] = '\0';
    *size = used;
    return text;
}

config_t *
config_new_empty (void)
{
    config_t *self = (config_t *) calloc (1, sizeof (config_t));
    assert (self);
    self->data_dir = s_strdup (DEFAULT_DATA_DIR);
    self->feed = NULL;          //  not set: ipc://<data_dir>/feed (cli/cmd_run.c)
    self->pingers = -1;
    self->heartbeat_ms = SQ_HEARTBEAT_MS;
    self->retention_results_ms = STORE_DEFAULT_RESULTS_MS;
    self->retention_rollups_ms = STORE_DEFAULT_ROLLUPS_MS;
    config_notify_defaults (self);
    self->page_title = s_strdup ("Status");
    s_site_defaults (&self->defaults);
    return self;
}

//  One site given through the HTTP API: its JSON body read as YAML (JSON is
//  YAML's flow style), under the file's rules, owners and defaults.  Its
//  tree is kept in *root until the load ends, as URL origins point into it.
static int
s_api_site (loader_t *loader, const config_api_site_t *api, node_t **root)
{
    config_source_t file = loader->source;
    loader->source = (config_source_t) {
        .path = api->label, .text = api->body, .size = strlen (api->body),
        .error = file.error, .error_size = file.error_size, .failed = file.failed
    };
    *root = config_yaml_read (&loader->source);
    int rc = *root ? s_site_parse (loader, *root) : -1;
    if (rc == 0) {
        size_t index = loader->config->site_count - 1;
        loader->config->sites [index].api = true;
        loader->config->sites [index].line = 0;
        rc = s_quorum_check_site (loader, index, *root);
    }
    file.failed = loader->source.failed;
    loader->source = file;
    return rc;
}

config_t *
config_load (const char *path, char *error, size_t error_size)
{
    return config_load_with_api (path, NULL, 0, error, error_size);
}

config_t *
config_load_with_api (const char *path, const config_api_site_t *api, size_t api_count,
                      char *error, size_t error_size)
{
    assert (path);
    assert (error || error_size == 0);
    size_t size = 0;
    char *text = s_read_file (path, &size, error, error_size);
    if (!text)
        return NULL;
    loader_t loader = {
        .source = { .path = path, .text = text, .size = size,
                    .error = error, .error_size = error_size },
        .config = config_new_empty ()
    };
    loader.config->path = s_strdup (path);
    int rc = 0;
    node_t *root = NULL;
    //  A NUL byte means a binary file, and would cut our strings short.
    const char *nul = (const char *) memchr (text, '\0', size);
    //  Skip a UTF-8 byte order mark in the plain format; libyaml skips it
    //  itself.
    char *body = strncmp (text, "\xEF\xBB\xBF", 3) == 0 ? text + 3 : text;
    const char *content = s_first_content (body);
    if (nul) {
        int line, column;
        config_position (&loader.source, (size_t) (nul - text), &line, &column);
        rc = config_fail (&loader.source, line, column, "expected text, got a NUL byte");
    }
    else
    if (!content)
        rc = config_fail (&loader.source, 1, 1, "expected a YAML mapping with sites, "
                          "or a list of URLs one per line, got no content");
    else
    if (s_starts_with_scheme (content))
        rc = s_list_parse (&loader, body);
    else {
        //  Kept until the API's sites are read: the loader points into it
        //  (owners, smtp, listen, the key tables).
        root = config_yaml_read (&loader.source);
        rc = root ? s_document (&loader, root) : -1;
    }
    //  Sites added through the API come after the file's.  One whose URL
    //  the file now lists belongs to the file: it is left out here (the
    //  caller says so), so that the file wins and nothing fails to start.
    node_t **api_roots = (node_t **) calloc (api_count + 1, sizeof (node_t *));
    assert (api_roots);
    for (size_t index = 0; rc == 0 && index < api_count; index++) {
        if (s_index_find (&loader, api [index].url) >= 0)
            continue;
        rc = s_api_site (&loader, &api [index], &api_roots [index]);
        if (rc == 0)
            loader.config->api_site_count++;
    }
    for (size_t index = 0; index < api_count; index++)
        config_node_destroy (&api_roots [index]);
    free (api_roots);
    config_node_destroy (&root);
    //  Defaults are known now: sites take what they did not set.
    config_t *config = loader.config;
    for (size_t index = 0; rc == 0 && index < config->site_count; index++)
        s_site_complete (&config->sites [index], &config->defaults, loader.given [index]);
    free (loader.given);
    free (loader.origins);
    free (loader.slots);
    zhashx_destroy (&loader.key_tables);
    zhashx_destroy (&loader.owner_names);
    free (text);
    if (rc)
        config_destroy (&config);
    return config;
}

int
config_add_site (config_t *self, const char *url, char *error, size_t error_size)
{
    assert (self);
    char why [SQ_TEXT_MAX], normal [SQ_URL_MAX + 1];
    if (sq_url_normalise (url, normal, sizeof (normal), why, sizeof (why))) {
        snprintf (error, error_size, "%s", why);
        return -1;
    }
    const config_site_t *existing = config_site_by_url (self, normal);
    if (existing) {
        //  "as" names the site there when url is another spelling of it.
        bool other = strcmp (url, normal) != 0;
        char where [PATH_MAX + 32] = "";
        if (existing->line)
            snprintf (where, sizeof (where), " (%s line %d)",
                      self->path ? self->path : "", existing->line);
        snprintf (error, error_size, "'%s' is already in the config%s%s%s%s", url,
                  other ? " as '" : "", other ? normal : "", other ? "'" : "", where);
        return -1;
    }
    config_site_t *sites = (config_site_t *) realloc (self->sites,
                                                      (self->site_count + 1) * sizeof (config_site_t));
    assert (sites);
    self->sites = sites;
    config_site_t *site = &sites [self->site_count++];
    memset (site, 0, sizeof (*site));
    s_site_complete (site, &self->defaults, 0);
    site->url = s_strdup (normal);
    return 0;
}

void
config_destroy (config_t **self_p)
{
    assert (self_p);
    config_t *self = *self_p;
    if (!self)
        return;
    for (size_t index = 0; index < self->site_count; index++)
        s_site_free (&self->sites [index]);
    free (self->sites);
    config_canaries_free (self);
    config_notify_free (self);
    config_http_free (self);
    s_site_free (&self->defaults);
    free (self->feed);
    free (self->listen);
    free (self->keys);
    free (self->data_dir);
    free (self->path);
    free (self);
    *self_p = NULL;
}

const config_owner_t *
config_owner (const config_t *self, const char *name)
{
    assert (self);
    for (size_t index = 0; name && index < self->owner_count; index++)
        if (strcmp (self->owners [index].name, name) == 0)
            return &self->owners [index];
    return NULL;
}

const config_site_t *
config_site_by_url (const config_t *self, const char *url)
{
    assert (self);
    for (size_t index = 0; url && index < self->site_count; index++)
        if (strcmp (self->sites [index].url, url) == 0)
            return &self->sites [index];
    return NULL;
}

int
config_duration_parse (const char *text, uint64_t *ms)
{
    //  Units from the largest down; each may appear once, in this order.
    static const struct { const char *name; uint64_t ms; } units [] = {
        { "w", 604800000 }, { "d", 86400000 }, { "h", 3600000 }, { "m", 60000 },
        { "s", 1000 }, { "ms", 1 }
    };
    if (!text || !*text)
        return -1;
    if (strcmp (text, "0") == 0) {
        *ms = 0;
        return 0;
    }
    uint64_t total = 0;
    size_t next_unit = 0;
    const char *at = text;
    while (*at) {
        //  At most nine digits: no overflow, and far beyond any limit.
        uint64_t number = 0;
        size_t digits = 0;
        while (*at >= '0' && *at <= '9' && digits < 10) {
            number = number * 10 + (uint64_t) (*at++ - '0');
            digits++;
        }
        if (digits == 0 || digits > 9)
            return -1;
        size_t unit = next_unit;
        while (unit < sizeof (units) / sizeof (units [0])) {
            size_t length = strlen (units [unit].name);
            //  "m" must not take the "m" of "ms".
            if (strncmp (at, units [unit].name, length) == 0
            &&  !(length == 1 && at [0] == 'm' && at [1] == 's'))
                break;
            unit++;
        }
        if (unit == sizeof (units) / sizeof (units [0]))
            return -1;
        at += strlen (units [unit].name);
        total += number * units [unit].ms;
        next_unit = unit + 1;
    }
    *ms = total;
    return 0;
}
