/*  hub_api.c: see hub_api.h. */
#include "hub_api.h"
#include "commands.h"
#include "sq_url.h"
#include "store.h"
#include "store_api.h"

#include <jansson.h>
#include <string.h>

#define S_LABEL_MAX     (SQ_URL_MAX + 32)

struct _hub_api_t {
    zsock_t *socket;            //  REP, bound
    char endpoint [64];         //  where
};

//  The API's sites, as the loader takes them.
typedef struct {
    config_api_site_t *sites;   //  url, body, label: each string owned here
    size_t count;               //  entries
    size_t capacity;            //  allocated
} rows_t;

static void
s_rows_add (rows_t *rows, const char *url, const char *body, const char *label)
{
    if (rows->count == rows->capacity) {
        rows->capacity = rows->capacity ? rows->capacity * 2 : 16;
        rows->sites = (config_api_site_t *) realloc (rows->sites,
                                                     rows->capacity * sizeof (config_api_site_t));
        assert (rows->sites);
    }
    char shown [SQ_URL_MAX + 1], text [S_LABEL_MAX];
    if (!label) {
        sq_url_shown (url, shown, sizeof (shown));
        snprintf (text, sizeof (text), "API site %s", shown);
        label = text;
    }
    config_api_site_t *site = &rows->sites [rows->count++];
    site->url = strdup (url);
    site->body = strdup (body);
    site->label = strdup (label);
    assert (site->url && site->body && site->label);
}

static void
s_rows_remove (rows_t *rows, size_t index)
{
    config_api_site_t *site = &rows->sites [index];
    free ((char *) site->url);
    free ((char *) site->body);
    free ((char *) site->label);
    memmove (site, site + 1, (rows->count - index - 1) * sizeof (config_api_site_t));
    rows->count--;
}

static void
s_rows_free (rows_t *rows)
{
    while (rows->count)
        s_rows_remove (rows, rows->count - 1);
    free (rows->sites);
    rows->sites = NULL;
    rows->capacity = 0;
}

static void
s_row_read (const char *url, const char *body, void *arg)
{
    s_rows_add ((rows_t *) arg, url, body, NULL);
}

//  The API's sites kept in data_dir's store; 0, or -1 (logged).
static int
s_rows_read (const char *data_dir, rows_t *rows)
{
    char error [512];
    store_t *store = store_open (data_dir, error, sizeof (error));
    if (!store) {
        zsys_error ("squirrel run: cannot read the API's sites: %s", error);
        return -1;
    }
    int rc = store_api_sites (store, s_row_read, rows);
    store_close (&store);
    return rc < 0 ? -1 : 0;
}

//  The row whose label starts error ("LABEL:LINE:COLUMN: ..."), or -1.
static long
s_row_at_fault (const rows_t *rows, const char *error)
{
    for (size_t index = 0; index < rows->count; index++) {
        size_t length = strlen (rows->sites [index].label);
        if (strncmp (error, rows->sites [index].label, length) == 0 && error [length] == ':')
            return (long) index;
    }
    return -1;
}

config_t *
hub_config_load (const char *path, char *error, size_t error_size)
{
    config_t *file = config_load (path, error, error_size);
    return file ? hub_config_with_api (file) : NULL;
}

config_t *
hub_config_with_api (config_t *file)
{
    assert (file && file->path);
    const char *path = file->path;
    rows_t rows = { NULL, 0, 0 };
    if (s_rows_read (file->data_dir, &rows) || rows.count == 0) {
        s_rows_free (&rows);
        return file;
    }
    config_t *config = NULL;
    while (!config) {
        char why [1024];
        config = config_load_with_api (path, rows.sites, rows.count, why, sizeof (why));
        if (config)
            break;
        long fault = s_row_at_fault (&rows, why);
        if (fault < 0) {
            //  The file changed under us: go on with what was read.
            zsys_error ("squirrel run: the API's sites are left out: %s", why);
            s_rows_free (&rows);
            return file;
        }
        zsys_error ("squirrel run: %s; that site is left out (fix it with PATCH or DELETE "
                    "/api/v1/sites/ID)", why);
        s_rows_remove (&rows, (size_t) fault);
    }
    for (size_t index = 0; index < rows.count; index++) {
        const config_site_t *site = config_site_by_url (config, rows.sites [index].url);
        if (site && !site->api) {
            char shown [SQ_URL_MAX + 1];
            sq_url_shown (site->url, shown, sizeof (shown));
            zsys_warning ("squirrel run: %s is in %s now, which owns it: the file's settings "
                          "apply (the API's copy stays in the store until it is deleted)",
                          shown, path);
        }
    }
    s_rows_free (&rows);
    config_destroy (&file);
    return config;
}


//  --------------------------------------------------------------------------
//  Changes

hub_api_t *
hub_api_new (void)
{
    hub_api_t *self = (hub_api_t *) calloc (1, sizeof (hub_api_t));
    assert (self);
    snprintf (self->endpoint, sizeof (self->endpoint), "inproc://squirrel-changes-%p",
              (void *) self);
    self->socket = zsock_new (ZMQ_REP);
    assert (self->socket);
    //  inproc, named after this object: a bind can only fail for memory.
    if (zsock_bind (self->socket, "%s", self->endpoint))
        zsys_error ("squirrel run: cannot bind %s: no site changes through the API",
                    self->endpoint);
    return self;
}

void
hub_api_destroy (hub_api_t **self_p)
{
    assert (self_p);
    hub_api_t *self = *self_p;
    if (!self)
        return;
    zsock_destroy (&self->socket);
    free (self);
    *self_p = NULL;
}

const char *
hub_api_endpoint (hub_api_t *self)
{
    assert (self);
    return self->endpoint;
}

zsock_t *
hub_api_socket (hub_api_t *self)
{
    assert (self);
    return self->socket;
}

//  An answer: its status and JSON.
typedef struct {
    int status;
    char *body;
} answer_t;

static answer_t
s_answer (int status, json_t *root)
{
    char *text = json_dumps (root, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION (9));
    json_decref (root);
    assert (text);
    return (answer_t) { status, text };
}

static answer_t
s_fail (int status, const char *message, const char *where)
{
    json_t *root = json_pack ("{s:s}", "error", message);
    if (where)
        json_object_set_new (root, "where", json_string (where));
    return s_answer (status, root);
}

//  The site with id in config, or NULL.
static const config_site_t *
s_site_by_id (const config_t *config, const char *id_text)
{
    char *end = NULL;
    unsigned long long id = strtoull (id_text, &end, 10);
    if (!id || end == id_text || *end)
        return NULL;
    for (size_t index = 0; index < config->site_count; index++)
        if (config->sites [index].id == id)
            return &config->sites [index];
    return NULL;
}

static json_t *
s_site_json (const config_site_t *site)
{
    char shown [SQ_URL_MAX + 1];
    sq_url_shown (site->url, shown, sizeof (shown));
    return json_pack ("{s:I,s:s,s:o,s:s,s:I}", "id", (json_int_t) site->id, "url", shown,
                      "owner", site->owner ? json_string (site->owner) : json_null (),
                      "source", site->api ? "api" : "file",
                      "interval_ms", (json_int_t) site->interval_ms);
}

//  409 for a site the file owns.
static answer_t
s_owned_by_file (const config_t *config, const config_site_t *site)
{
    char shown [SQ_URL_MAX + 1], message [SQ_URL_MAX + PATH_MAX + 200];
    sq_url_shown (site->url, shown, sizeof (shown));
    snprintf (message, sizeof (message), "%s is defined in the config file %s (line %d), which "
              "owns it: edit the file and reload (SIGHUP or systemctl reload squirrel)", shown,
              config->path ? config->path : "", site->line);
    return s_fail (409, message, NULL);
}

//  The API's sites now loaded in config, from the store: rows the rules
//  refused at start are left out, so that they cannot fail this change.
static int
s_rows_loaded (const config_t *config, rows_t *rows)
{
    rows_t all = { NULL, 0, 0 };
    if (s_rows_read (config->data_dir, &all)) {
        s_rows_free (&all);
        return -1;
    }
    for (size_t index = 0; index < all.count; index++) {
        const config_site_t *site = config_site_by_url (config, all.sites [index].url);
        if (site && site->api)
            s_rows_add (rows, all.sites [index].url, all.sites [index].body,
                        all.sites [index].label);
    }
    s_rows_free (&all);
    return 0;
}

//  Apply rows as the API's sites: check them all with the file, keep the
//  store's table in step (keep, or forget), give ids, hand the sites over.
//  On success *config is the new config.  A failure changes nothing.
static answer_t
s_apply (config_t **config, topology_t *topology, rows_t *rows, const char *keep_url,
         const char *keep_body, const char *forget_url, const char *new_label)
{
    char why [1024];
    config_t *fresh = config_load_with_api ((*config)->path, rows->sites, rows->count, why,
                                            sizeof (why));
    if (!fresh) {
        size_t length = strlen (new_label);
        if (strncmp (why, new_label, length) == 0 && why [length] == ':')
            return s_fail (400, why, new_label);
        return s_fail (503, why, NULL);
    }
    //  Keep the store's own data_dir: the running store stays where it is.
    free (fresh->data_dir);
    fresh->data_dir = strdup ((*config)->data_dir);
    char error [512];
    store_t *store = store_open (fresh->data_dir, error, sizeof (error));
    int rc = store ? 0 : -1;
    if (rc == 0 && keep_url)
        rc = store_api_site_put (store, keep_url, keep_body, error, sizeof (error));
    if (rc == 0 && forget_url)
        rc = store_api_site_delete (store, forget_url, error, sizeof (error)) < 0 ? -1 : 0;
    store_close (&store);
    if (rc) {
        config_destroy (&fresh);
        return s_fail (503, error, NULL);
    }
    if (cli_assign_ids (fresh) || cli_hand_sites (topology, fresh)) {
        //  Undo the store's part: the running config is unchanged.
        store = store_open (fresh->data_dir, error, sizeof (error));
        if (store && keep_url)
            store_api_site_delete (store, keep_url, error, sizeof (error));
        store_close (&store);
        config_destroy (&fresh);
        return s_fail (503, "the new site list could not be handed to the actors (see the log)",
                       NULL);
    }
    config_destroy (config);
    *config = fresh;
    return (answer_t) { 200, NULL };
}

static answer_t
s_post (config_t **config, topology_t *topology, const char *body)
{
    json_error_t parse;
    json_t *root = json_loads (body, JSON_REJECT_DUPLICATES, &parse);
    json_t *url_value = root ? json_object_get (root, "url") : NULL;
    const char *url = json_is_string (url_value) ? json_string_value (url_value) : NULL;
    char normal [SQ_URL_MAX + 1], why [SQ_TEXT_MAX];
    answer_t answer = { 0, NULL };
    if (!json_is_object (root))
        answer = s_fail (400, "expected a JSON object", "body");
    else
    if (!url)
        answer = s_fail (400, "url: expected a string such as \"https://example.com/\"", "url");
    else
    if (sq_url_normalise (url, normal, sizeof (normal), why, sizeof (why)))
        answer = s_fail (400, why, "url");
    json_decref (root);
    if (answer.body)
        return answer;
    const config_site_t *existing = config_site_by_url (*config, normal);
    if (existing && !existing->api)
        return s_owned_by_file (*config, existing);
    if (existing) {
        char message [128];
        snprintf (message, sizeof (message), "already added: /api/v1/sites/%llu",
                  (unsigned long long) existing->id);
        return s_fail (409, message, NULL);
    }
    rows_t rows = { NULL, 0, 0 };
    if (s_rows_loaded (*config, &rows)) {
        s_rows_free (&rows);
        return s_fail (503, "cannot read the API's sites from the store", NULL);
    }
    s_rows_add (&rows, normal, body, "body");
    answer = s_apply (config, topology, &rows, normal, body, NULL, "body");
    s_rows_free (&rows);
    if (answer.body)
        return answer;
    const config_site_t *site = config_site_by_url (*config, normal);
    assert (site);
    char shown [SQ_URL_MAX + 1];
    sq_url_shown (normal, shown, sizeof (shown));
    zsys_info ("squirrel run: site %s added through the API (id %llu)", shown,
               (unsigned long long) site->id);
    return s_answer (201, s_site_json (site));
}

static answer_t
s_patch (config_t **config, topology_t *topology, const config_site_t *site, const char *body)
{
    json_error_t parse;
    json_t *patch = json_loads (body, JSON_REJECT_DUPLICATES, &parse);
    if (!json_is_object (patch)) {
        json_decref (patch);
        return s_fail (400, "expected a JSON object", "body");
    }
    rows_t rows = { NULL, 0, 0 };
    if (s_rows_loaded (*config, &rows)) {
        json_decref (patch);
        s_rows_free (&rows);
        return s_fail (503, "cannot read the API's sites from the store", NULL);
    }
    char *url = strdup (site->url);
    long row = -1;
    for (size_t index = 0; index < rows.count; index++)
        if (strcmp (rows.sites [index].url, url) == 0)
            row = (long) index;
    answer_t answer = { 0, NULL };
    json_t *merged = row >= 0 ? json_loads (rows.sites [row].body, 0, NULL) : NULL;
    if (!json_is_object (merged))
        answer = s_fail (503, "the stored site cannot be read", NULL);
    const char *key;
    json_t *value;
    json_object_foreach (patch, key, value) {
        if (answer.body)
            break;
        if (strcmp (key, "url") == 0) {
            char normal [SQ_URL_MAX + 1], why [SQ_TEXT_MAX];
            if (!json_is_string (value)
            ||  sq_url_normalise (json_string_value (value), normal, sizeof (normal), why,
                                  sizeof (why))
            ||  strcmp (normal, url) != 0)
                answer = s_fail (400, "url: a site's URL cannot change: DELETE it and POST the "
                                 "new one", "url");
        }
        else
        if (json_is_null (value))
            json_object_del (merged, key);
        else
            json_object_set (merged, key, value);
    }
    json_decref (patch);
    if (!answer.body) {
        char *text = json_dumps (merged, JSON_COMPACT);
        assert (text);
        s_rows_remove (&rows, (size_t) row);
        const char *label = "body (merged with the stored site)";
        s_rows_add (&rows, url, text, label);
        answer = s_apply (config, topology, &rows, url, text, NULL, label);
        free (text);
        if (!answer.body) {
            const config_site_t *changed = config_site_by_url (*config, url);
            assert (changed);
            answer = s_answer (200, s_site_json (changed));
        }
    }
    json_decref (merged);
    s_rows_free (&rows);
    free (url);
    return answer;
}

static answer_t
s_delete (config_t **config, topology_t *topology, const config_site_t *site)
{
    rows_t rows = { NULL, 0, 0 };
    if (s_rows_loaded (*config, &rows)) {
        s_rows_free (&rows);
        return s_fail (503, "cannot read the API's sites from the store", NULL);
    }
    char *url = strdup (site->url);
    uint64_t id = site->id;
    for (size_t index = 0; index < rows.count; index++)
        if (strcmp (rows.sites [index].url, url) == 0) {
            s_rows_remove (&rows, index);
            break;
        }
    answer_t answer = s_apply (config, topology, &rows, NULL, NULL, url, "");
    s_rows_free (&rows);
    if (!answer.body) {
        char shown [SQ_URL_MAX + 1];
        sq_url_shown (url, shown, sizeof (shown));
        zsys_info ("squirrel run: site %s removed through the API (id %llu)", shown,
                   (unsigned long long) id);
        answer = s_answer (200, json_pack ("{s:I}", "deleted", (json_int_t) id));
    }
    free (url);
    return answer;
}

void
hub_api_handle (hub_api_t *self, config_t **config, topology_t *topology)
{
    assert (self && config && *config);
    char *verb = NULL, *id = NULL, *body = NULL;
    if (zstr_recvx (self->socket, &verb, &id, &body, NULL) < 3) {
        //  A REP must answer whatever came, or it is stuck.
        zstr_sendx (self->socket, "400", "{\"error\":\"malformed change request\"}", NULL);
        zstr_free (&verb);
        zstr_free (&id);
        zstr_free (&body);
        return;
    }
    answer_t answer;
    if (strcmp (verb, "POST") == 0)
        answer = s_post (config, topology, body);
    else {
        const config_site_t *site = s_site_by_id (*config, id);
        if (!site)
            answer = s_fail (404, "no such site", NULL);
        else
        if (!site->api)
            answer = s_owned_by_file (*config, site);
        else
        if (strcmp (verb, "PATCH") == 0)
            answer = s_patch (config, topology, site, body);
        else
        if (strcmp (verb, "DELETE") == 0)
            answer = s_delete (config, topology, site);
        else
            answer = s_fail (405, "method not allowed", NULL);
    }
    char status [8];
    snprintf (status, sizeof (status), "%d", answer.status);
    zstr_sendx (self->socket, status, answer.body, NULL);
    free (answer.body);
    zstr_free (&verb);
    zstr_free (&id);
    zstr_free (&body);
}
