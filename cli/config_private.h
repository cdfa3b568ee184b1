/*  config_private.h: what the two halves of the config loader share, and
    nothing else: config.c (the rules, the plain list format, the messages
    and the public API) and config_yaml.c (libyaml's events read into a
    small tree of our own).  Not for use outside cli/config*.c.

    The YAML half sees only the text being loaded and the way to report a
    mistake in it (config_source_t); it knows nothing of the rules.  The
    rules see only the tree it hands back.
*/
#ifndef CONFIG_PRIVATE_H_INCLUDED
#define CONFIG_PRIVATE_H_INCLUDED

#include <stdbool.h>
#include "config.h"
#include <stddef.h>

//  The text being loaded, and the caller's buffer for its first mistake.
typedef struct {
    const char *path;           //  file name, for messages
    const char *text;           //  the whole file
    size_t size;                //  its bytes
    char *error;                //  caller's message buffer
    size_t error_size;          //  its size
    bool failed;                //  a message is in error; later ones are dropped
} config_source_t;

//  Record the first mistake as "FILE:LINE:COLUMN: message"; later ones are
//  dropped.  Returns -1.  (config.c)
int config_fail (config_source_t *source, int line, int column, const char *format, ...)
    __attribute__ ((format (printf, 4, 5)));

//  Line and column (1-based, in characters) of a byte offset in the text.
//  (config.c)
void config_position (const config_source_t *source, size_t offset, int *line, int *column);

//  A YAML node as we keep it.
typedef enum {
    NODE_SCALAR,                //  text; plain ones may be null
    NODE_LIST,                  //  YAML sequence
    NODE_MAPPING                //  YAML mapping
} node_kind_t;

typedef struct _node_t node_t;
struct _node_t {
    node_kind_t kind;           //  scalar, list or mapping
    char *value;                //  scalar text, NUL-terminated; NULL otherwise
    bool plain;                 //  scalar written without quotes
    int line;                   //  1-based line of the node's first character
    int column;                 //  1-based column of it
    node_t **children;          //  list items, or mapping key, value, key, value...
    size_t count;               //  entries in children
    struct _node_arena_t *arena;    //  the root's: where the whole tree lives
};

//  Parse the whole text as one YAML document into a tree, the caller's to
//  destroy.  NULL on error, reported through config_fail.  (config_yaml.c)
node_t *config_yaml_read (config_source_t *source);

//  Destroy a tree (given its root); safe on NULL, nulls the caller's
//  pointer.  (config_yaml.c)
void config_node_destroy (node_t **self_p);

//  Is node a YAML null: a plain scalar that is empty, "~" or "null"?
//  (config_yaml.c)
bool config_node_is_null (const node_t *node);

//  --------------------------------------------------------------------------
//  Loader internals, shared by config.c (the rules) and config_notify.c
//  (the notification keys' rules).


//  Where a site's URL is written, for "is the same site as" messages.
typedef struct {
    const char *written;        //  the URL as written (borrowed: the tree's or the text's)
    int line;                   //  1-based line of the URL
    int column;                 //  1-based column of it
} url_origin_t;

//  State of one load.
typedef struct {
    config_source_t source;     //  the file, and where its first mistake goes
    config_t *config;           //  what we fill
    size_t site_cap;            //  allocated entries of config->sites, given and origins
    uint32_t *given;            //  per site, bit k set when it set check key k
    url_origin_t *origins;      //  per site, where its URL is written
    uint64_t *slots;            //  URL hash index: (site index + 1) in the low 32
                                //  bits, the URL's hash in the high; 0 = free
    size_t slot_count;          //  entries in slots, a power of two
    const node_t *owners;       //  the owners mapping, for site checks, or NULL
    const node_t *smtp;         //  the smtp mapping, for owners' email, or NULL
    const node_t *listen;       //  the listen value, for the keys check, or NULL
    const node_t *pingers;      //  workers.pingers, for the listen check, or NULL
    char url [SQ_URL_MAX + 1];  //  the normal form config_url returned last
    zhashx_t *key_tables;       //  large mapping -> its keys seen so far (key ->
                                //  node), so that duplicate keys are found in
                                //  linear time (40,000 owners); or NULL
    zhashx_t *owner_names;      //  names under owners -> node, or NULL
} loader_t;

//  The range a duration key accepts, and how messages say it.
typedef struct {
    uint64_t min_ms;            //  smallest accepted
    uint64_t max_ms;            //  largest accepted
    const char *range;          //  the range in words
} duration_rule_t;

//  Value readers (config.c).  Each reports its mistake as "KEY: expected
//  WHAT, got FOUND" at the node and returns -1 (or NULL); key may be NULL.
int config_expected (loader_t *loader, const node_t *node, const char *key, const char *what);
int config_key_check (loader_t *loader, const node_t *mapping, size_t pair, const char *where,
                      const char **keys, size_t key_count);
const char *config_text (loader_t *loader, const node_t *node, const char *key,
                         const char *what);
int config_duration (loader_t *loader, const node_t *node, const char *key,
                     const duration_rule_t *rule, uint64_t *value);
int config_whole (loader_t *loader, const node_t *node, const char *key,
                  uint32_t min, uint32_t max, uint32_t *value);
int config_bool (loader_t *loader, const node_t *node, const char *key, bool *value);
//  config_url: an http(s) URL in its normal form (sq_url_normalise), so that
//  spellings of one URL compare equal.  Borrowed: good until the next call.
const char *config_url (loader_t *loader, const node_t *node, const char *key);
void config_replace (char **field, const char *text);

//  The notification keys (config_notify.c).
void config_notify_defaults (config_t *config);     //  settings at their defaults
void config_notify_free (config_t *config);         //  owners and smtp strings
int config_smtp_parse (loader_t *loader, const node_t *value);
int config_notify_setting (loader_t *loader, const char *key, const node_t *value);
int config_owner_parse (loader_t *loader, const node_t *name, const node_t *node);
int config_days_parse (loader_t *loader, const node_t *node, const char *key, sq_days_t *days);
int config_windows_parse (loader_t *loader, const node_t *node, const char *key,
                          sq_windows_t *windows);

//  A file we can read; secret: only its owner may read or write it.  0, or
//  -1 reported at node.  (config_notify.c)
int config_readable_file (loader_t *loader, const node_t *node, const char *key, bool secret,
                          char **field);

//  The http and status_page sections (config_http.c).
int config_http_parse (loader_t *loader, const node_t *value);
int config_status_page_parse (loader_t *loader, const node_t *value);
void config_http_free (config_t *config);

//  Regions and canaries (config_sites.c).
int config_regions_parse (loader_t *loader, const node_t *node, const char *key,
                          char **regions);      //  a list of names, joined into *regions
size_t config_region_count (const char *regions);  //  names in a joined list; "" has 0
int config_canaries_parse (loader_t *loader, const node_t *node);

#endif
