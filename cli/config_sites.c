/*  config_sites.c: a config's sites and owners as SITE and OWNER messages,
    the one form in which they reach the actors (see sq_actor.h, "batch").
    The config loader already checked every value against the same limits
    the wire contract declares, so an encoding failure here is a
    programming error upstream; it is reported, not hidden.

    Also the rules of the two lists whose form the wire contract fixes:
    regions (names joined with ',' in SITE.regions, so a name holds no
    comma) and canaries.  config.c calls them; quorum against the count of
    regions is checked there, where it knows which of the two the site set.
*/
#include "config_private.h"
#include "config.h"
#include "topology.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Longest piece of a URL quoted back in a message (config.c's QUOTE_MAX).
#define URL_QUOTE_MAX   60


//  --------------------------------------------------------------------------
//  regions and canaries

//  A region name: 1 to SQ_NAME_MAX letters, digits, '-' or '_'.  Narrower
//  than what `squirrel pinger --region` takes (printable, no spaces), on
//  purpose: no ',' (the list separator on the wire), no ':' (ALERT.regions
//  writes "eu:timeout"), nothing YAML would want quoted.
static bool
s_region_name_valid (const char *name)
{
    size_t length = strlen (name);
    if (length == 0 || length > SQ_NAME_MAX)
        return false;
    for (const char *at = name; *at; at++)
        if (!((*at >= 'a' && *at <= 'z') || (*at >= 'A' && *at <= 'Z')
           || (*at >= '0' && *at <= '9') || *at == '-' || *at == '_'))
            return false;
    return true;
}

int
config_regions_parse (loader_t *loader, const node_t *node, const char *key, char **regions)
{
    char what [96];
    snprintf (what, sizeof (what), "a list of 1 to %d region names such as [eu, us]",
              SQ_REGIONS_MAX);
    if (node->kind != NODE_LIST)
        return config_expected (loader, node, key, what);
    if (node->count == 0)
        return config_fail (&loader->source, node->line, node->column,
                            "%s: expected %s, got an empty list", key, what);
    char joined [SQ_REGION_LIST_MAX + 1] = "";
    size_t used = 0;
    for (size_t index = 0; index < node->count; index++) {
        const node_t *item = node->children [index];
        if (index == SQ_REGIONS_MAX)
            return config_fail (&loader->source, item->line, item->column,
                                "%s: expected at most %d region names, got %zu",
                                key, SQ_REGIONS_MAX, node->count);
        if (item->kind != NODE_SCALAR || !s_region_name_valid (item->value)) {
            char name_rule [96];
            snprintf (name_rule, sizeof (name_rule),
                      "a region name of 1 to %d letters, digits, '-' or '_'", SQ_NAME_MAX);
            return config_expected (loader, item, key, name_rule);
        }
        //  Each once: the same region twice would count its vote twice.
        for (size_t before = 0; before < index; before++)
            if (strcmp (node->children [before]->value, item->value) == 0)
                return config_fail (&loader->source, item->line, item->column,
                                    "%s: expected each region once, got '%s' again",
                                    key, item->value);
        //  At most SQ_REGIONS_MAX names of SQ_NAME_MAX bytes and a comma
        //  each: SQ_REGION_LIST_MAX holds them.
        int wrote = snprintf (joined + used, sizeof (joined) - used, "%s%s",
                              index ? "," : "", item->value);
        assert (wrote > 0 && (size_t) wrote < sizeof (joined) - used);
        used += (size_t) wrote;
    }
    config_replace (regions, joined);
    return 0;
}

size_t
config_region_count (const char *regions)
{
    if (!regions || !*regions)
        return 0;
    size_t count = 1;
    for (const char *at = regions; *at; at++)
        count += *at == ',';
    return count;
}

int
config_canaries_parse (loader_t *loader, const node_t *node)
{
    config_t *config = loader->config;
    if (config_node_is_null (node))
        return 0;               //  none, as when the key is absent
    if (node->kind != NODE_LIST) {
        char what [96];
        snprintf (what, sizeof (what), "a list of at most %d http or https URLs",
                  CONFIG_CANARIES_MAX);
        return config_expected (loader, node, "canaries", what);
    }
    for (size_t index = 0; index < node->count; index++) {
        const node_t *item = node->children [index];
        if (index == CONFIG_CANARIES_MAX)
            return config_fail (&loader->source, item->line, item->column,
                                "canaries: expected at most %d URLs, got %zu",
                                CONFIG_CANARIES_MAX, node->count);
        //  Each once: s_canaries_unique (config.c) has checked the normal forms.
        const char *url = config_url (loader, item, "canaries");
        if (!url)
            return -1;
        if (!config->canaries) {
            config->canaries = (char **) calloc (CONFIG_CANARIES_MAX, sizeof (char *));
            assert (config->canaries);
        }
        config_replace (&config->canaries [config->canary_count++], url);
    }
    return 0;
}

void
config_canaries_free (config_t *config)
{
    for (size_t index = 0; index < config->canary_count; index++)
        free (config->canaries [index]);
    free (config->canaries);
    config->canaries = NULL;
    config->canary_count = 0;
}


//  --------------------------------------------------------------------------
//  Messages

//  Copy text (NULL = "") into a message field of size bytes.  0, or -1 if
//  it would be cut.
static int
s_copy (char *field, size_t size, const char *text)
{
    if (!text)
        text = "";
    size_t length = strlen (text);
    if (length >= size)
        return -1;
    memcpy (field, text, length + 1);
    return 0;
}

int
config_site_message (const config_t *self, const config_site_t *entry, sq_site_t *site)
{
    memset (site, 0, sizeof (*site));
    site->site_id = entry->id;
    site->interval_ms = entry->interval_ms;
    site->failure_threshold = entry->failure_threshold;
    site->success_threshold = entry->success_threshold;
    site->method = (uint8_t) entry->method;
    site->timeout_ms = entry->timeout_ms;
    site->accept = entry->accept;
    site->max_latency_ms = entry->max_latency_ms;
    site->max_redirects = entry->max_redirects;
    site->tls_verify = entry->tls_verify;
    site->remind_every_ms = entry->remind_every_ms;
    site->flap_changes = entry->flap_changes;
    site->flap_window_ms = entry->flap_window_ms;
    site->cert_warn_days = entry->cert_warn_days;
    site->maintenance = entry->maintenance;
    site->quorum = entry->quorum;
    if (s_copy (site->owner, sizeof (site->owner), entry->owner)
    ||  s_copy (site->url, sizeof (site->url), entry->url)
    ||  s_copy (site->keyword, sizeof (site->keyword), entry->keyword)
    ||  s_copy (site->regions, sizeof (site->regions), entry->regions))
        return -1;
    return 0;
}

int
config_owner_message (const config_t *self, const config_owner_t *owner, sq_owner_t *message)
{
    memset (message, 0, sizeof (*message));
    message->quiet = owner->quiet;
    message->maintenance = owner->maintenance;
    message->notify_degraded = owner->notify_degraded;
    if (s_copy (message->name, sizeof (message->name), owner->name)
    ||  s_copy (message->email, sizeof (message->email), owner->email)
    ||  s_copy (message->webhook, sizeof (message->webhook), owner->webhook)
    ||  s_copy (message->webhook_template, sizeof (message->webhook_template),
                owner->webhook_template)
    ||  s_copy (message->slack, sizeof (message->slack), owner->slack)
    ||  s_copy (message->discord, sizeof (message->discord), owner->discord)
    ||  s_copy (message->command, sizeof (message->command), owner->command))
        return -1;
    return 0;
}

//  A batch given up on: NULL.
static zmsg_t *
s_batch_abandon (sq_batch_writer_t **writer_p)
{
    zmsg_t *batch = sq_batch_writer_end (writer_p);
    zmsg_destroy (&batch);
    return NULL;
}

zmsg_t *
config_sites_batch (const config_t *self, char *error, size_t error_size)
{
    sq_batch_writer_t *writer = sq_batch_writer_new ();
    sq_msg_t msg = { .type = SQ_MSG_SITE };
    for (size_t index = 0; index < self->site_count; index++) {
        const config_site_t *entry = &self->sites [index];
        if (entry->id == 0)
            continue;           //  no id yet: not monitored
        if (config_site_message (self, entry, &msg.site) || sq_batch_add (writer, &msg)) {
            snprintf (error, error_size, "%s: site %s cannot be encoded as a SITE message",
                      self->path ? self->path : "sites", entry->url);
            return s_batch_abandon (&writer);
        }
    }
    //  Canaries: checked like a site with the defaults from every region,
    //  judging the pingers only (no owner, no store, no alert).
    for (size_t index = 0; index < self->canary_count; index++) {
        config_site_t canary = self->defaults;
        canary.id = SQ_CANARY_ID_BASE + index;
        canary.url = self->canaries [index];
        canary.owner = NULL;
        canary.keyword = NULL;
        canary.regions = NULL;
        canary.quorum = 0;
        int rc = config_site_message (self, &canary, &msg.site);
        msg.site.canary = true;
        if (rc || sq_batch_add (writer, &msg)) {
            snprintf (error, error_size, "%s: canary %s cannot be encoded as a SITE message",
                      self->path ? self->path : "canaries", self->canaries [index]);
            return s_batch_abandon (&writer);
        }
    }
    return sq_batch_writer_end (&writer);
}

zmsg_t *
config_owners_batch (const config_t *self, char *error, size_t error_size)
{
    sq_batch_writer_t *writer = sq_batch_writer_new ();
    sq_msg_t msg = { .type = SQ_MSG_OWNER };
    for (size_t index = 0; index < self->owner_count; index++) {
        const config_owner_t *owner = &self->owners [index];
        if (config_owner_message (self, owner, &msg.owner) || sq_batch_add (writer, &msg)) {
            snprintf (error, error_size, "%s: owner %s cannot be encoded as an OWNER message",
                      self->path ? self->path : "owners", owner->name ? owner->name : "");
            return s_batch_abandon (&writer);
        }
    }
    return sq_batch_writer_end (&writer);
}

int
config_hand_sites (const config_t *self, topology_t *topology, char *error, size_t error_size)
{
    //  Owners first: a site names its owner, and the notifier looks it up.
    zmsg_t *batch = config_owners_batch (self, error, error_size);
    if (!batch)
        return -1;
    int rc = topology_set_owners (topology, batch);
    zmsg_destroy (&batch);
    if (rc) {
        snprintf (error, error_size, "the notifier did not take the owner list");
        return rc;
    }
    batch = config_sites_batch (self, error, error_size);
    if (!batch)
        return -1;
    rc = topology_set_sites (topology, batch);
    zmsg_destroy (&batch);
    if (rc)
        snprintf (error, error_size, "the actors did not take the site list");
    return rc;
}
