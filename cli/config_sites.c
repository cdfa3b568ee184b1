/*  config_sites.c: a config's sites as SITE messages, the one form in
    which sites reach the actors (see sq_actor.h, "batch").  The config
    loader already checked every value against the same limits the wire
    contract declares, so an encoding failure here is a programming error
    upstream; it is reported, not hidden.
*/
#include "config.h"
#include "topology.h"

#include <string.h>

int
config_site_message (const config_t *self, const config_site_t *entry, sq_site_t *site)
{
    memset (site, 0, sizeof (*site));
    site->site_id = entry->id;
    if (entry->owner) {
        snprintf (site->owner, sizeof (site->owner), "%s", entry->owner);
        const config_owner_t *owner = config_owner (self, entry->owner);
        if (owner && owner->webhook)
            snprintf (site->webhook, sizeof (site->webhook), "%s", owner->webhook);
    }
    site->interval_ms = entry->interval_ms;
    site->failure_threshold = entry->failure_threshold;
    site->success_threshold = entry->success_threshold;
    snprintf (site->url, sizeof (site->url), "%s", entry->url);
    site->method = (uint8_t) entry->method;
    site->timeout_ms = entry->timeout_ms;
    site->accept = entry->accept;
    snprintf (site->keyword, sizeof (site->keyword), "%s", entry->keyword ? entry->keyword : "");
    site->max_latency_ms = entry->max_latency_ms;
    site->max_redirects = entry->max_redirects;
    site->tls_verify = entry->tls_verify;
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
        config_site_message (self, entry, &msg.site);
        int size = sq_msg_encode (&msg, frame, sizeof (frame));
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

int
config_hand_sites (const config_t *self, topology_t *topology, char *error, size_t error_size)
{
    zmsg_t *batch = config_sites_batch (self, error, error_size);
    if (!batch)
        return -1;
    int rc = topology_set_sites (topology, batch);
    zmsg_destroy (&batch);
    if (rc)
        snprintf (error, error_size, "the actors did not take the site list");
    return rc;
}
