/*  sq_actor.c: start-up handshake shared by the actors.  See sq_actor.h. */
#include "sq_actor.h"

#include <string.h>

zactor_t *
sq_actor_start (zactor_fn *task, void *args, const char *name)
{
    zactor_t *actor = zactor_new (task, args);
    if (!actor)
        return NULL;
    char *verdict = zstr_recv (actor);
    if (verdict && strcmp (verdict, "OK") == 0) {
        zstr_free (&verdict);
        return actor;
    }
    zsys_error ("%s: failed to start: %s", name, verdict ? verdict : "no answer");
    zstr_free (&verdict);
    zactor_destroy (&actor);
    return NULL;
}

void
sq_actor_report (zsock_t *pipe, const char *error)
{
    zsock_signal (pipe, 0);
    if (!error) {
        zstr_send (pipe, "OK");
        return;
    }
    zstr_sendf (pipe, "ERROR %s", error);
    //  Wait for the $TERM that zactor_destroy sends; anything else is ignored.
    while (true) {
        char *command = zstr_recv (pipe);
        bool term = !command || strcmp (command, "$TERM") == 0;
        zstr_free (&command);
        if (term)
            break;
    }
}

char *
sq_actor_stats (zactor_t *actor)
{
    if (zstr_send (actor, "STATS"))
        return NULL;
    zsock_set_rcvtimeo (actor, 5000);
    char *stats = NULL;
    //  Skip reports the actor sends unasked (a collector's VERDICTs).
    while (!stats) {
        zmsg_t *reply = zmsg_recv (actor);
        if (!reply)
            break;
        char *first = zmsg_popstr (reply);
        zmsg_destroy (&reply);
        if (first && streq (first, "VERDICT"))
            zstr_free (&first);
        else
        if (!first)
            break;
        else
            stats = first;
    }
    zsock_set_rcvtimeo (actor, -1);
    return stats;
}

long long
sq_stats_value (const char *stats, const char *name)
{
    size_t length = strlen (name);
    for (const char *at = stats; at && *at; ) {
        if (strncmp (at, name, length) == 0 && at [length] == '=')
            return strtoll (at + length + 1, NULL, 10);
        at = strchr (at, ' ');
        if (at)
            at++;
    }
    return -1;
}

void *
sq_actor_pop_pointer (zmsg_t *msg)
{
    zframe_t *frame = zmsg_pop (msg);
    void *pointer = NULL;
    if (frame && zframe_size (frame) == sizeof (void *))
        memcpy (&pointer, zframe_data (frame), sizeof (void *));
    zframe_destroy (&frame);
    return pointer;
}
