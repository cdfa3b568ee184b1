/*  sq_actor.c: start-up handshake shared by the actors.  See sq_actor.h. */
#include "sq_actor.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <unistd.h>
#include <pthread.h>
#include <errno.h>
#include <sys/stat.h>
#include <signal.h>
#include <string.h>

static pthread_once_t s_curl_once = PTHREAD_ONCE_INIT;

//  libcurl's global set-up, once per process, before any actor thread
//  can touch libcurl (it is only thread-safe where libcurl says so).
static void
s_curl_global_init (void)
{
    if (curl_global_init (CURL_GLOBAL_DEFAULT) != CURLE_OK)
        zsys_error ("libcurl's global initialisation failed");
    const curl_version_info_data *info = curl_version_info (CURLVERSION_NOW);
    if (!(info->features & CURL_VERSION_ASYNCHDNS))
        zsys_warning ("this libcurl resolves names synchronously: one slow DNS server "
                      "will stall every check of a pinger");
}

//  What the actor's thread starts with: its task, named after the actor
//  (`top -H`, `ps -L`, perf and gdb show "sq-dispatcher", not "squirrel").
//  Read before the task signals that it is set up, as args are.
typedef struct {
    zactor_fn *task;
    void *args;
    const char *name;
} s_start_t;

static void
s_named_task (zsock_t *pipe, void *arg)
{
    const s_start_t *start = (const s_start_t *) arg;
    char name [16];             //  the kernel keeps 15 bytes
    snprintf (name, sizeof (name), "sq-%s", start->name);
    pthread_setname_np (pthread_self (), name);
    start->task (pipe, start->args);
}

zactor_t *
sq_actor_start (zactor_fn *task, void *args, const char *name)
{
    pthread_once (&s_curl_once, s_curl_global_init);
    //  Actor threads never take a signal: the creator's thread handles
    //  them (a signal that interrupted an actor's poll would end it).
    sigset_t all, previous;
    sigfillset (&all);
    pthread_sigmask (SIG_BLOCK, &all, &previous);
    s_start_t start = { task, args, name ? name : "actor" };
    zactor_t *actor = zactor_new (s_named_task, &start);
    pthread_sigmask (SIG_SETMASK, &previous, NULL);
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
        bool term = !command || strcmp (command, SQ_CMD_TERM) == 0;
        zstr_free (&command);
        if (term)
            break;
    }
}

char *
sq_actor_stats (zactor_t *actor)
{
    if (zstr_send (actor, SQ_CMD_STATS))
        return NULL;
    zsock_set_rcvtimeo (actor, SQ_STATS_TIMEOUT_MS);
    char *stats = NULL;
    //  Skip reports the actor sends unasked (a collector's VERDICTs).
    while (!stats) {
        zmsg_t *reply = zmsg_recv (actor);
        if (!reply)
            break;
        char *first = zmsg_popstr (reply);
        zmsg_destroy (&reply);
        if (first && streq (first, SQ_CMD_VERDICT))
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

void
sq_actor_send_counters (zsock_t *pipe, const char *const *names, const uint64_t *values,
                        size_t count)
{
    char *line = sq_counters_line (names, values, count);
    zstr_send (pipe, line);
    free (line);
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

char *
sq_actor_recv_command (zsock_t *pipe, zmsg_t **rest_p)
{
    if (rest_p)
        *rest_p = NULL;
    zmsg_t *request = zmsg_recv (pipe);
    char *command = request ? zmsg_popstr (request) : NULL;
    if (command && rest_p && zmsg_size (request) > 0) {
        *rest_p = request;
        request = NULL;
    }
    zmsg_destroy (&request);
    return command ? command : strdup (SQ_CMD_TERM);
}

int
sq_actor_set_sites (zactor_t *actor, zmsg_t *batch)
{
    return sq_actor_set_batch (actor, SQ_CMD_SITES, batch);
}

int
sq_actor_send_batch (zactor_t *actor, const char *command, zmsg_t *batch)
{
    zmsg_t *message = batch ? zmsg_dup (batch) : zmsg_new ();
    assert (message);
    if (zmsg_pushstr (message, command) || zmsg_send (&message, actor)) {
        zmsg_destroy (&message);
        return -1;
    }
    return 0;
}

int
sq_actor_set_batch (zactor_t *actor, const char *command, zmsg_t *batch)
{
    return sq_actor_send_batch (actor, command, batch) ? -1 : zsock_wait (actor);
}

struct _sq_batch_writer_t {
    zmsg_t *batch;              //  frames done
    size_t used;                //  bytes in frame
    uint8_t frame [SQ_BATCH_FRAME_MAX];
};

sq_batch_writer_t *
sq_batch_writer_new (void)
{
    sq_batch_writer_t *self = (sq_batch_writer_t *) malloc (sizeof (sq_batch_writer_t));
    assert (self);
    self->batch = zmsg_new ();
    assert (self->batch);
    self->used = 0;
    return self;
}

static void
s_batch_flush (sq_batch_writer_t *self)
{
    if (self->used) {
        zmsg_addmem (self->batch, self->frame, self->used);
        self->used = 0;
    }
}

void
sq_batch_add_raw (sq_batch_writer_t *self, const void *data, size_t size)
{
    assert (size <= SQ_FRAME_MAX);
    if (self->used + 2 + size > SQ_BATCH_FRAME_MAX)
        s_batch_flush (self);
    self->frame [self->used] = (uint8_t) (size >> 8);
    self->frame [self->used + 1] = (uint8_t) size;
    memcpy (self->frame + self->used + 2, data, size);
    self->used += 2 + size;
}

int
sq_batch_add (sq_batch_writer_t *self, const sq_msg_t *msg)
{
    if (self->used + 2 + SQ_FRAME_MAX > SQ_BATCH_FRAME_MAX)
        s_batch_flush (self);
    int size = sq_msg_encode (msg, self->frame + self->used + 2, SQ_FRAME_MAX);
    if (size < 0)
        return -1;
    self->frame [self->used] = (uint8_t) (size >> 8);
    self->frame [self->used + 1] = (uint8_t) size;
    self->used += 2 + (size_t) size;
    return 0;
}

zmsg_t *
sq_batch_writer_end (sq_batch_writer_t **self_p)
{
    assert (self_p);
    sq_batch_writer_t *self = *self_p;
    if (!self)
        return NULL;
    s_batch_flush (self);
    zmsg_t *batch = self->batch;
    free (self);
    *self_p = NULL;
    return batch;
}

//  The next entry's bytes, or NULL at the end of the batch.  A frame whose
//  sizes run past its end is dropped whole and reported in *broken.
static const uint8_t *
s_batch_entry (sq_batch_reader_t *reader, size_t *size, bool *broken)
{
    *broken = false;
    while (true) {
        if (reader->frame && reader->offset < zframe_size (reader->frame)) {
            const uint8_t *data = zframe_data (reader->frame);
            size_t left = zframe_size (reader->frame) - reader->offset;
            size_t entry = left >= 2
                         ? ((size_t) data [reader->offset] << 8) | data [reader->offset + 1] : 0;
            if (left >= 2 && entry <= left - 2) {
                const uint8_t *start = data + reader->offset + 2;
                reader->offset += 2 + entry;
                *size = entry;
                return start;
            }
            *broken = true;
            zframe_destroy (&reader->frame);
            return NULL;
        }
        zframe_destroy (&reader->frame);
        reader->frame = reader->batch ? zmsg_pop (reader->batch) : NULL;
        reader->offset = 0;
        if (!reader->frame)
            return NULL;
    }
}

int
sq_batch_next (sq_batch_reader_t *reader, sq_msg_type_t type, sq_msg_t *msg, const char *who,
               uint64_t *malformed)
{
    size_t size = 0;
    bool broken;
    const uint8_t *entry = s_batch_entry (reader, &size, &broken);
    char why [128] = "frame of broken packing, dropped";
    int rc = SQ_PROTO_MALFORMED;
    if (entry)
        rc = sq_msg_decode (entry, size, msg, why, sizeof (why));
    else
    if (!broken)
        return 0;
    if (rc != SQ_PROTO_OK || msg->type != type) {
        if (malformed)
            (*malformed)++;
        zsys_warning ("%s: dropped an entry from its %s list: %s", who, sq_msg_type_name (type),
                      rc != SQ_PROTO_OK ? why : "of another type");
        return -1;
    }
    return 1;
}

void
sq_batch_reader_end (sq_batch_reader_t *reader)
{
    zframe_destroy (&reader->frame);
    reader->offset = 0;
}

int
sq_sites_next (sq_batch_reader_t *reader, sq_site_t *site, const char *who, uint64_t *malformed)
{
    sq_msg_t msg;
    int rc = sq_batch_next (reader, SQ_MSG_SITE, &msg, who, malformed);
    if (rc == 1)
        *site = msg.site;
    return rc;
}

int
sq_actor_bind (zsock_t *socket, const char *endpoint)
{
    //  What comes from another process is bounded before it is buffered:
    //  one frame of ours is at most SQ_FRAME_MAX, and the cap is twice that,
    //  SQ_REMOTE_FRAME_MAX (a subscription to a PUB counts as a frame too).
    if (strncmp (endpoint, "inproc://", 9) != 0)
        zsock_set_maxmsgsize (socket, SQ_REMOTE_FRAME_MAX);
    if (zsock_bind (socket, "%s", endpoint) < 0)
        return -1;
    if (strncmp (endpoint, "ipc://", 6) == 0 && chmod (endpoint + 6, 0600) < 0) {
        zsys_error ("cannot make %s private: %s", endpoint, strerror (errno));
        return -1;
    }
    return 0;
}

//  ZMQ_ZAP_ENFORCE_DOMAIN is a draft option in libzmq 4.3 (value 93).
#ifdef ZMQ_ZAP_ENFORCE_DOMAIN
#   define SQ_ZMQ_ZAP_ENFORCE_DOMAIN ZMQ_ZAP_ENFORCE_DOMAIN
#else
#   define SQ_ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

static void
s_remote_options (zsock_t *socket)
{
    zsock_set_maxmsgsize (socket, SQ_REMOTE_FRAME_MAX);
    zsock_set_heartbeat_ivl (socket, SQ_ZMTP_HEARTBEAT_MS);
    zsock_set_heartbeat_timeout (socket, SQ_ZMTP_TIMEOUT_MS);
    zsock_set_heartbeat_ttl (socket, SQ_ZMTP_TIMEOUT_MS);
}

int
sq_actor_bind_remote (zsock_t *socket, const char *endpoint, const sq_curve_t *curve)
{
    assert (curve && curve->public_key && curve->secret_key);
    s_remote_options (socket);
    zsock_set_zap_domain (socket, SQ_ZAP_DOMAIN);
    //  Without a ZAP handler libzmq lets every CURVE client in: enforce the
    //  domain, so that a server whose authenticator is gone refuses all.
    //  Refuse to bind where this libzmq cannot.
    int enforce = 1;
    if (zmq_setsockopt (zsock_resolve (socket), SQ_ZMQ_ZAP_ENFORCE_DOMAIN, &enforce,
                        sizeof (enforce)))
        return -1;
    zsock_set_curve_server (socket, 1);
    zsock_set_curve_publickey (socket, curve->public_key);
    zsock_set_curve_secretkey (socket, curve->secret_key);
    return zsock_bind (socket, "%s", endpoint);
}

int
sq_actor_connect (zsock_t *socket, const char *endpoint, const sq_curve_t *curve)
{
    if (curve && curve->public_key && curve->secret_key && curve->server_key) {
        s_remote_options (socket);
        zsock_set_reconnect_ivl (socket, SQ_RECONNECT_MS);
        zsock_set_reconnect_ivl_max (socket, SQ_RECONNECT_MAX_MS);
        //  A connect into a partition would wait for the kernel's SYN
        //  retries (minutes): give up and try again instead.
        zsock_set_connect_timeout (socket, SQ_ZMTP_TIMEOUT_MS);
        zsock_set_curve_serverkey (socket, curve->server_key);
        zsock_set_curve_publickey (socket, curve->public_key);
        zsock_set_curve_secretkey (socket, curve->secret_key);
    }
    return zsock_connect (socket, "%s", endpoint) < 0 ? -1 : 0;
}

static size_t
s_id_hash (const void *key)
{
    uint64_t value = (uint64_t) (uintptr_t) key;
    value ^= value >> 33;
    value *= 0xff51afd7ed558ccdULL;
    value ^= value >> 33;
    return (size_t) value;
}

static int
s_id_compare (const void *one, const void *two)
{
    uintptr_t a = (uintptr_t) one, b = (uintptr_t) two;
    return a < b ? -1 : a > b;
}

void
sq_free_item (void **item)
{
    free (*item);
    *item = NULL;
}

zhashx_t *
sq_id_table_new (zhashx_destructor_fn *destructor)
{
    zhashx_t *table = zhashx_new ();
    assert (table);
    zhashx_set_key_hasher (table, s_id_hash);
    zhashx_set_key_comparator (table, s_id_compare);
    zhashx_set_key_duplicator (table, NULL);
    zhashx_set_key_destructor (table, NULL);
    if (destructor)
        zhashx_set_destructor (table, destructor);
    return table;
}

char *
sq_counters_line (const char *const *names, const uint64_t *values, size_t count)
{
    char *line = NULL;
    size_t size = 0;
    FILE *stream = open_memstream (&line, &size);
    assert (stream);
    for (size_t index = 0; index < count; index++)
        fprintf (stream, "%s%s=%llu", index ? " " : "", names [index],
                 (unsigned long long) values [index]);
    fclose (stream);
    return line;
}


//  --------------------------------------------------------------------------
//  Job marks

void
sq_job_key_random (sq_job_key_t *key)
{
    //  libsodium's generator needs no sodium_init () (it only speeds it up).
    randombytes_buf (key->bytes, sizeof (key->bytes));
    key->set = true;
}

int
sq_job_key_load (const char *data_dir, sq_job_key_t *key, char *error, size_t error_size)
{
    char path [PATH_MAX];
    snprintf (path, sizeof (path), "%s/%s", data_dir, SQ_JOB_KEY_FILE);
    memset (key, 0, sizeof (*key));
    for (int tries = 0; tries < 2; tries++) {
        int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd >= 0) {
            ssize_t got = read (fd, key->bytes, sizeof (key->bytes));
            close (fd);
            if (got != (ssize_t) sizeof (key->bytes)) {
                snprintf (error, error_size, "%s: not a job key (%zd bytes; remove it to make "
                          "a new one)", path, got);
                return -1;
            }
            key->set = true;
            return 0;
        }
        if (errno != ENOENT)
            break;
        //  None yet: made whole under another name, then linked in place,
        //  so that two processes starting at once agree on one key.
        sq_job_key_t fresh;
        sq_job_key_random (&fresh);
        char temporary [PATH_MAX + 16];
        snprintf (temporary, sizeof (temporary), "%s.%d", path, (int) getpid ());
        fd = open (temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
            break;
        bool written = write (fd, fresh.bytes, sizeof (fresh.bytes)) == (ssize_t) sizeof (fresh.bytes);
        written = close (fd) == 0 && written;
        int linked = written ? link (temporary, path) : -1;
        unlink (temporary);
        if (!written || (linked && errno != EEXIST))
            break;
    }
    snprintf (error, error_size, "%s: %s", path, strerror (errno));
    return -1;
}

uint64_t
sq_job_token (const sq_job_key_t *key, uint64_t job_id, uint64_t site_id)
{
    if (!key->set)
        return 0;
    uint8_t input [16];
    for (int byte = 0; byte < 8; byte++) {
        input [byte] = (uint8_t) (job_id >> (8 * byte));
        input [8 + byte] = (uint8_t) (site_id >> (8 * byte));
    }
    _Static_assert (crypto_shorthash_BYTES == 8 && crypto_shorthash_KEYBYTES == SQ_JOB_KEY_SIZE,
                    "SipHash-2-4: 8-byte output, 16-byte key");
    uint8_t output [crypto_shorthash_BYTES];
    crypto_shorthash (output, input, sizeof (input), key->bytes);
    uint64_t token = 0;
    for (int byte = 0; byte < 8; byte++)
        token |= (uint64_t) output [byte] << (8 * byte);
    return token;
}
