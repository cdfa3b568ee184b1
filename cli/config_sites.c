/*  config_sites.c: a config's sites and owners as SITE and OWNER messages,
    the one form in which they reach the actors (see sq_actor.h, "batch").
    The config loader already checked every value against the same limits
    the wire contract declares, so an encoding failure here is a
    programming error upstream; it is reported, not hidden.
*/
#include "config.h"
#include "topology.h"

#include <string.h>

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
    if (s_copy (site->owner, sizeof (site->owner), entry->owner)
    ||  s_copy (site->url, sizeof (site->url), entry->url)
    ||  s_copy (site->keyword, sizeof (site->keyword), entry->keyword))
        return -1;
    return 0;
}

int
config_owner_message (const config_t *self, const config_owner_t *owner, sq_owner_t *message)
{
    memset (message, 0, sizeof (*message));
    message->quiet = owner->quiet;
    message->maintenance = owner->maintenance;
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

zmsg_t *
config_sites_batch (const config_t *self, char *error, size_t error_size)
{
    zmsg_t *batch = zmsg_new ();
    assert (batch);
    sq_msg_t msg = { .type = SQ_MSG_SITE };
    uint8_t frame [SQ_FRAME_MAX];
    for (size_t index = 0; index < self->site_count; index++) {
        const config_site_t *entry = &self->sites [index];
        if (entry->id == 0)
            continue;           //  no id yet: not monitored
        int size = config_site_message (self, entry, &msg.site) ? -1
                 : sq_msg_encode (&msg, frame, sizeof (frame));
        if (size < 0) {
            snprintf (error, error_size, "%s: site %s cannot be encoded as a SITE message",
                      self->path ? self->path : "sites", entry->url);
            zmsg_destroy (&batch);
            return NULL;
        }
        zmsg_addmem (batch, frame, (size_t) size);
    }
    return batch;
}

zmsg_t *
config_owners_batch (const config_t *self, char *error, size_t error_size)
{
    zmsg_t *batch = zmsg_new ();
    assert (batch);
    sq_msg_t msg = { .type = SQ_MSG_OWNER };
    uint8_t frame [SQ_FRAME_MAX];
    for (size_t index = 0; index < self->owner_count; index++) {
        const config_owner_t *owner = &self->owners [index];
        int size = config_owner_message (self, owner, &msg.owner) ? -1
                 : sq_msg_encode (&msg, frame, sizeof (frame));
        if (size < 0) {
            snprintf (error, error_size, "%s: owner %s cannot be encoded as an OWNER message",
                      self->path ? self->path : "owners", owner->name ? owner->name : "");
            zmsg_destroy (&batch);
            return NULL;
        }
        zmsg_addmem (batch, frame, (size_t) size);
    }
    return batch;
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
