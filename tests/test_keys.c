/*  test_keys.c: CURVE key files and the authenticator (broker/sq_keys.c).

    Real files in a private mkdtemp folder per test, real tcp sockets on
    loopback ports picked at run time.  Whatever must not arrive is waited
    for with a deadline after the refusal itself has been counted, so a
    test that lets a wrong peer in fails.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "sq_keys.h"
#include "sq_actor.h"
#include "actor_wait.h"

#include <ftw.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ARRIVE_MS   5000        //  a message that should arrive does so well within this
#define NOTHING_MS  500         //  after a refusal is counted, how long we watch for nothing
#define COUNTER_MS  5000        //  deadline for a counter to move

//  --------------------------------------------------------------------------
//  Helpers

//  A hub: the authenticator on keys/allowed, and a CURVE PULL server with
//  the hub's pair on a loopback port.
typedef struct {
    zactor_t *auth;
    zcert_t *hub;
    zsock_t *server;
    int port;
    char *allowed;
} hub_t;

//  What one test holds: its private folder, and what teardown must end
//  even when the test failed half-way (the next test needs the ZAP
//  endpoint free and the log back on stderr).
typedef struct {
    char dir [64];
    hub_t *hub;                 //  or NULL
    FILE *log;                  //  CZMQ's log stream while captured, or NULL
} folder_t;

static void s_hub_destroy (void **state);

static int
s_setup (void **state)
{
    folder_t *folder = (folder_t *) calloc (1, sizeof (folder_t));
    assert_non_null (folder);
    snprintf (folder->dir, sizeof (folder->dir), "/tmp/sq_keys_XXXXXX");
    assert_non_null (mkdtemp (folder->dir));
    *state = folder;
    return 0;
}

static int
s_remove_entry (const char *path, const struct stat *status, int type, struct FTW *walk)
{
    return remove (path);
}

static int
s_teardown (void **state)
{
    folder_t *folder = (folder_t *) *state;
    s_hub_destroy (state);
    if (folder->log) {
        zsys_set_logstream (stderr);
        fclose (folder->log);
    }
    nftw (folder->dir, s_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free (folder);
    return 0;
}

//  Path of name in the test's folder.  Caller frees.
static char *
s_path (void **state, const char *name)
{
    return zsys_sprintf ("%s/%s", ((folder_t *) *state)->dir, name);
}

static unsigned
s_mode (const char *path)
{
    struct stat status;
    assert_int_equal (stat (path, &status), 0);
    return status.st_mode & 07777;
}

//  Whole text of a file (caller frees), or NULL.
static char *
s_read (const char *path)
{
    FILE *file = fopen (path, "r");
    if (!file)
        return NULL;
    char *text = (char *) calloc (1, 65536);
    assert_non_null (text);
    size_t length = fread (text, 1, 65535, file);
    text [length] = 0;
    fclose (file);
    return text;
}

static void
s_write (const char *path, const char *text, mode_t mode)
{
    FILE *file = fopen (path, "w");
    assert_non_null (file);
    fputs (text, file);
    fclose (file);
    assert_int_equal (chmod (path, mode), 0);
}

static void
s_copy (const char *from, const char *to)
{
    char *text = s_read (from);
    assert_non_null (text);
    s_write (to, text, 0644);
    free (text);
}

static size_t
s_count (const char *text, const char *needle)
{
    size_t count = 0;
    for (const char *at = text; (at = strstr (at, needle)); at += strlen (needle))
        count++;
    return count;
}

//  A new key pair at name in the folder, loaded.
static zcert_t *
s_new_pair (void **state, const char *name)
{
    char *path = s_path (state, name);
    char error [512];
    assert_int_equal (sq_keys_generate (path, error, sizeof (error)), 0);
    zcert_t *cert = sq_keys_load_pair (path, error, sizeof (error));
    assert_non_null (cert);
    zstr_free (&path);
    return cert;
}

//  The test's hub, started (teardown ends it).
static hub_t *
s_hub_new (void **state)
{
    hub_t *hub = (hub_t *) calloc (1, sizeof (hub_t));
    assert_non_null (hub);
    ((folder_t *) *state)->hub = hub;
    char *keys = s_path (state, "keys");
    char error [512];
    hub->hub = sq_keys_hub (keys, error, sizeof (error));
    assert_non_null (hub->hub);
    hub->allowed = zsys_sprintf ("%s/" SQ_KEYS_ALLOWED_NAME, keys);
    zstr_free (&keys);
    sq_auth_args_t args = { hub->allowed };
    hub->auth = sq_actor_start (sq_auth_actor, &args, "auth");
    assert_non_null (hub->auth);
    hub->server = zsock_new (ZMQ_PULL);
    assert_non_null (hub->server);
    //  The way every hub socket that faces the network is bound.
    sq_curve_t curve = { zcert_public_txt (hub->hub), zcert_secret_txt (hub->hub), NULL };
    hub->port = sq_actor_bind_remote (hub->server, "tcp://127.0.0.1:*", &curve);
    assert_true (hub->port > 0);
    ((folder_t *) *state)->hub = hub;
    return hub;
}

static void
s_hub_destroy (void **state)
{
    hub_t *hub = ((folder_t *) *state)->hub;
    if (!hub)
        return;
    zsock_destroy (&hub->server);
    zactor_destroy (&hub->auth);
    zcert_destroy (&hub->hub);
    zstr_free (&hub->allowed);
    free (hub);
    ((folder_t *) *state)->hub = NULL;
}

//  A PUSH client that connects to the hub (as a CURVE client with mine,
//  or with no security at all when mine is NULL) and sends text.
static zsock_t *
s_client_send (hub_t *hub, zcert_t *mine, const char *text)
{
    zsock_t *client = zsock_new (ZMQ_PUSH);
    assert_non_null (client);
    if (mine)
        assert_int_equal (sq_keys_curve_client (client, mine, zcert_public_txt (hub->hub)), 0);
    assert_int_equal (zsock_connect (client, "tcp://127.0.0.1:%d", hub->port), 0);
    zsock_set_sndtimeo (client, 1000);
    assert_int_equal (zstr_send (client, text), 0);
    return client;
}

//  The next message on socket within timeout_ms (caller frees), or NULL.
static char *
s_recv_within (zsock_t *socket, int timeout_ms)
{
    zpoller_t *poller = zpoller_new (socket, NULL);
    assert_non_null (poller);
    char *text = zpoller_wait (poller, timeout_ms) == socket ? zstr_recv (socket) : NULL;
    zpoller_destroy (&poller);
    return text;
}

static long long
s_stat (zactor_t *auth, const char *name)
{
    char *stats = sq_actor_stats (auth);
    assert_non_null (stats);
    long long value = sq_stats_value (stats, name);
    zstr_free (&stats);
    return value;
}


//  --------------------------------------------------------------------------
//  Key files

//  keygen's modes do not depend on the umask: 0644 and 0600 under umask 0,
//  and under one that takes the owner's bits too.
static void
test_generate_modes (void **state)
{
    const mode_t masks [] = { 0, 0277, 077 };
    for (size_t index = 0; index < sizeof (masks) / sizeof (masks [0]); index++) {
        char name [16];
        snprintf (name, sizeof (name), "key%zu", index);
        char *path = s_path (state, name);
        char *secret = zsys_sprintf ("%s_secret", path);
        char error [512] = "";
        mode_t old = umask (masks [index]);
        int rc = sq_keys_generate (path, error, sizeof (error));
        umask (old);
        assert_int_equal (rc, 0);
        assert_int_equal (s_mode (path), 0644);
        assert_int_equal (s_mode (secret), 0600);
        //  What we wrote, CZMQ's zcert reads, and the other way round
        zcert_t *pair = sq_keys_load_pair (path, error, sizeof (error));
        assert_non_null (pair);
        zcert_t *theirs = zcert_load (path);
        assert_non_null (theirs);
        assert_true (zcert_eq (pair, theirs));
        zcert_t *public_only = sq_keys_load_public (path, error, sizeof (error));
        assert_non_null (public_only);
        assert_string_equal (zcert_public_txt (public_only), zcert_public_txt (pair));
        //  The public file holds no secret
        char *text = s_read (path);
        assert_null (strstr (text, zcert_secret_txt (pair)));
        assert_null (strstr (text, "secret-key"));
        free (text);
        zcert_destroy (&public_only);
        zcert_destroy (&theirs);
        zcert_destroy (&pair);
        zstr_free (&secret);
        zstr_free (&path);
    }
    //  A key file that CZMQ wrote is read too
    zcert_t *cert = zcert_new ();
    zcert_set_meta (cert, "name", "written by zcert");
    char *path = s_path (state, "czmq");
    assert_int_equal (zcert_save (cert, path), 0);
    char error [512];
    zcert_t *public_only = sq_keys_load_public (path, error, sizeof (error));
    assert_non_null (public_only);
    assert_string_equal (zcert_public_txt (public_only), zcert_public_txt (cert));
    assert_int_equal (chmod (path, 0600), 0);
    char *secret = zsys_sprintf ("%s_secret", path);
    assert_int_equal (chmod (secret, 0600), 0);
    zcert_t *pair = sq_keys_load_pair (path, error, sizeof (error));
    assert_non_null (pair);
    assert_true (zcert_eq (pair, cert));
    zcert_destroy (&pair);
    zcert_destroy (&public_only);
    zcert_destroy (&cert);
    zstr_free (&secret);
    zstr_free (&path);
}

//  Nothing is overwritten, and a refused keygen leaves nothing behind.
static void
test_generate_refuses_existing (void **state)
{
    char *path = s_path (state, "pinger");
    char *secret = zsys_sprintf ("%s_secret", path);
    char error [512];
    assert_int_equal (sq_keys_generate (path, error, sizeof (error)), 0);
    char *before = s_read (path);
    char *before_secret = s_read (secret);
    assert_int_equal (sq_keys_generate (path, error, sizeof (error)), -1);
    char *wanted = zsys_sprintf ("%s already exists: not overwritten", path);
    assert_string_equal (error, wanted);
    char *after = s_read (path);
    char *after_secret = s_read (secret);
    assert_string_equal (before, after);
    assert_string_equal (before_secret, after_secret);

    //  Only PATH_secret is there: refused, and PATH not created
    char *lone = s_path (state, "lone");
    char *lone_secret = zsys_sprintf ("%s_secret", lone);
    s_write (lone_secret, "mine\n", 0600);
    assert_int_equal (sq_keys_generate (lone, error, sizeof (error)), -1);
    assert_non_null (strstr (error, "lone_secret already exists: not overwritten"));
    assert_int_equal (access (lone, F_OK), -1);
    char *kept = s_read (lone_secret);
    assert_string_equal (kept, "mine\n");

    free (kept);
    zstr_free (&lone_secret);
    zstr_free (&lone);
    free (after_secret);
    free (after);
    zstr_free (&wanted);
    free (before_secret);
    free (before);
    zstr_free (&secret);
    zstr_free (&path);
}

//  load_pair refuses secret files that others may read or write, missing
//  ones, and files that are not key pairs; no message shows a secret key.
static void
test_load_pair_refusals (void **state)
{
    zcert_t *pair = s_new_pair (state, "pinger");
    char *path = s_path (state, "pinger");
    char *secret = zsys_sprintf ("%s_secret", path);
    char error [1024];

    assert_int_equal (chmod (secret, 0644), 0);
    assert_null (sq_keys_load_pair (path, error, sizeof (error)));
    char *wanted = zsys_sprintf ("%s is readable by others: chmod 600 %s", secret, secret);
    assert_string_equal (error, wanted);
    zstr_free (&wanted);

    assert_int_equal (chmod (secret, 0620), 0);
    assert_null (sq_keys_load_pair (path, error, sizeof (error)));
    wanted = zsys_sprintf ("%s is writable by others: chmod 600 %s", secret, secret);
    assert_string_equal (error, wanted);
    zstr_free (&wanted);

    assert_int_equal (chmod (secret, 0600), 0);
    zcert_t *loaded = sq_keys_load_pair (path, error, sizeof (error));
    assert_non_null (loaded);
    assert_true (zcert_eq (loaded, pair));
    zcert_destroy (&loaded);

    //  No PATH_secret: the message says how to make one
    char *none = s_path (state, "none");
    assert_null (sq_keys_load_pair (none, error, sizeof (error)));
    assert_non_null (strstr (error, "none_secret: cannot read: No such file or directory"));
    assert_non_null (strstr (error, "`squirrel keygen"));
    zstr_free (&none);

    //  A public key file where the secret one should be
    char *swapped = s_path (state, "swapped");
    char *swapped_secret = zsys_sprintf ("%s_secret", swapped);
    char *public_text = s_read (path);
    s_write (swapped_secret, public_text, 0600);
    assert_null (sq_keys_load_pair (swapped, error, sizeof (error)));
    assert_non_null (strstr (error, "is not a secret key file"));

    //  Not a key file at all, and a key whose halves do not belong together
    s_write (swapped_secret, "curve\n    public-key = \"short\"\n", 0600);
    assert_null (sq_keys_load_pair (swapped, error, sizeof (error)));
    assert_non_null (strstr (error, "is not a key file"));
    s_write (swapped_secret, "\x01\x02 garbage\n = \"\n", 0600);
    assert_null (sq_keys_load_pair (swapped, error, sizeof (error)));
    assert_non_null (strstr (error, "is not a key file"));
    zcert_t *other = s_new_pair (state, "other");
    char *mixed = zsys_sprintf ("curve\n    public-key = \"%s\"\n    secret-key = \"%s\"\n",
                                zcert_public_txt (pair), zcert_secret_txt (other));
    s_write (swapped_secret, mixed, 0600);
    assert_null (sq_keys_load_pair (swapped, error, sizeof (error)));
    assert_non_null (strstr (error, "its secret key does not match its public key"));
    assert_null (strstr (error, zcert_secret_txt (other)));
    //  A secret key in a malformed line is not shown either
    char *broken = zsys_sprintf ("curve\n    secret-key %s\n", zcert_secret_txt (other));
    s_write (swapped_secret, broken, 0600);
    assert_null (sq_keys_load_pair (swapped, error, sizeof (error)));
    assert_null (strstr (error, zcert_secret_txt (other)));

    zstr_free (&broken);
    zstr_free (&mixed);
    zcert_destroy (&other);
    free (public_text);
    zstr_free (&swapped_secret);
    zstr_free (&swapped);
    zstr_free (&secret);
    zstr_free (&path);
    zcert_destroy (&pair);
}

static void
test_fingerprint (void **state)
{
    zcert_t *pair = s_new_pair (state, "pinger");
    char out [SQ_KEYS_FINGERPRINT_LENGTH + 1];
    assert_int_equal (sq_keys_fingerprint (zcert_public_txt (pair), out, sizeof (out)), 0);
    assert_int_equal (strlen (out), SQ_KEYS_FINGERPRINT_LENGTH);
    assert_int_equal (strncmp (out, zcert_public_txt (pair), SQ_KEYS_FINGERPRINT_LENGTH), 0);
    assert_int_equal (sq_keys_fingerprint ("too short", out, sizeof (out)), -1);
    assert_string_equal (out, "");
    assert_int_equal (sq_keys_fingerprint (NULL, out, sizeof (out)), -1);
    //  40 characters, but not Z85 (a quote is not in its alphabet)
    assert_int_equal (sq_keys_fingerprint ("\"123456789012345678901234567890123456789", out,
                                           sizeof (out)), -1);
    zcert_destroy (&pair);
}

//  The hub's pair is made once, in private folders, and then reused.
static void
test_hub_pair (void **state)
{
    char *keys = s_path (state, "keys");
    char *allowed = zsys_sprintf ("%s/allowed", keys);
    char *hub_public = zsys_sprintf ("%s/hub", keys);
    char *hub_secret = zsys_sprintf ("%s/hub_secret", keys);
    char error [512];
    mode_t old = umask (0);
    zcert_t *first = sq_keys_hub (keys, error, sizeof (error));
    umask (old);
    assert_non_null (first);
    assert_int_equal (s_mode (keys), 0700);
    assert_int_equal (s_mode (allowed), 0700);
    assert_int_equal (s_mode (hub_public), 0644);
    assert_int_equal (s_mode (hub_secret), 0600);
    zcert_t *second = sq_keys_hub (keys, error, sizeof (error));
    assert_non_null (second);
    assert_true (zcert_eq (first, second));
    zcert_destroy (&second);

    //  A lost public half is written again from the secret one
    assert_int_equal (unlink (hub_public), 0);
    second = sq_keys_hub (keys, error, sizeof (error));
    assert_non_null (second);
    assert_true (zcert_eq (first, second));
    zcert_t *public_only = sq_keys_load_public (hub_public, error, sizeof (error));
    assert_non_null (public_only);
    assert_string_equal (zcert_public_txt (public_only), zcert_public_txt (first));
    zcert_destroy (&public_only);
    zcert_destroy (&second);

    //  A public half without its secret is never replaced
    assert_int_equal (unlink (hub_secret), 0);
    assert_null (sq_keys_hub (keys, error, sizeof (error)));
    assert_non_null (strstr (error, "exists without"));
    assert_int_equal (access (hub_secret, F_OK), -1);

    zcert_destroy (&first);
    zstr_free (&hub_secret);
    zstr_free (&hub_public);
    zstr_free (&allowed);
    zstr_free (&keys);
}


//  --------------------------------------------------------------------------
//  The authenticator

//  With no authenticator, libzmq would let every CURVE client in: refused.
//  Only one authenticator runs at a time, and one that cannot read its
//  folder does not start.
static void
test_server_needs_authenticator (void **state)
{
    zcert_t *hub = s_new_pair (state, "hub");
    zsock_t *server = zsock_new (ZMQ_PULL);
    assert_int_equal (sq_keys_curve_server (server, hub), -1);

    char *allowed = s_path (state, "allowed");
    sq_auth_args_t missing = { allowed };
    assert_null (sq_actor_start (sq_auth_actor, &missing, "auth"));
    assert_int_equal (mkdir (allowed, 0700), 0);
    sq_auth_args_t args = { allowed };
    zactor_t *auth = sq_actor_start (sq_auth_actor, &args, "auth");
    assert_non_null (auth);
    assert_null (sq_actor_start (sq_auth_actor, &args, "auth"));
    assert_int_equal (sq_keys_curve_server (server, hub), 0);
    zactor_destroy (&auth);
    //  The endpoint is free again at once
    auth = sq_actor_start (sq_auth_actor, &args, "auth");
    assert_non_null (auth);
    zactor_destroy (&auth);

    zstr_free (&allowed);
    zsock_destroy (&server);
    zcert_destroy (&hub);
}

//  The whole story: an allowed key gets through; an unknown one does not,
//  and is logged and counted once however often it tries; copied into
//  allowed/ later, it gets through; a client with no CURVE gets nothing.
static void
test_allowed_refused_then_allowed (void **state)
{
    char *log_path = s_path (state, "log.txt");
    folder_t *folder = (folder_t *) *state;
    folder->log = fopen (log_path, "w");
    assert_non_null (folder->log);
    zsys_set_logstream (folder->log);
    hub_t *hub = s_hub_new (state);

    //  Allowed
    zcert_t *friend = s_new_pair (state, "friend");
    char *friend_public = s_path (state, "friend");
    char *friend_allowed = zsys_sprintf ("%s/friend", hub->allowed);
    s_copy (friend_public, friend_allowed);
    zsock_t *client = s_client_send (hub, friend, "hello from a friend");
    char *text = s_recv_within (hub->server, ARRIVE_MS);
    assert_non_null (text);
    assert_string_equal (text, "hello from a friend");
    zstr_free (&text);
    zsock_destroy (&client);
    assert_int_equal (s_stat (hub->auth, "accepted"), 1);

    //  Unknown, three times over (each a new connection, as a restarted
    //  pinger makes): refused each time, logged and counted once
    zcert_t *stranger = s_new_pair (state, "stranger");
    for (int attempt = 1; attempt <= 3; attempt++) {
        client = s_client_send (hub, stranger, "let me in");
        assert_int_equal (actor_wait_counter (hub->auth, "refused_attempts", attempt, COUNTER_MS),
                          attempt);
        text = s_recv_within (hub->server, NOTHING_MS);
        assert_null (text);
        zsock_destroy (&client);
    }
    assert_int_equal (s_stat (hub->auth, "refused"), 1);
    assert_int_equal (s_stat (hub->auth, "refused_attempts"), 3);
    char fingerprint [SQ_KEYS_FINGERPRINT_LENGTH + 1];
    assert_int_equal (sq_keys_fingerprint (zcert_public_txt (stranger), fingerprint,
                                           sizeof (fingerprint)), 0);

    //  Copied in later: let in without a restart
    char *stranger_public = s_path (state, "stranger");
    char *stranger_allowed = zsys_sprintf ("%s/stranger", hub->allowed);
    s_copy (stranger_public, stranger_allowed);
    client = s_client_send (hub, stranger, "now a friend");
    text = s_recv_within (hub->server, ARRIVE_MS);
    assert_non_null (text);
    assert_string_equal (text, "now a friend");
    zstr_free (&text);
    zsock_destroy (&client);
    assert_int_equal (s_stat (hub->auth, "accepted"), 2);
    assert_int_equal (s_stat (hub->auth, "refused"), 1);
    assert_int_equal (s_stat (hub->auth, "allowed_keys"), 2);

    //  No CURVE at all: the handshake fails before ZAP; nothing arrives
    client = s_client_send (hub, NULL, "plain text");
    text = s_recv_within (hub->server, NOTHING_MS * 2);
    assert_null (text);
    zsock_destroy (&client);

    s_hub_destroy (state);
    zsys_set_logstream (stderr);
    fclose (folder->log);
    folder->log = NULL;
    char *logged = s_read (log_path);
    assert_non_null (logged);
    assert_int_equal (s_count (logged, fingerprint), 1);
    assert_non_null (strstr (logged, "refused CURVE key"));
    assert_non_null (strstr (logged, "127.0.0.1"));
    //  No secret key is ever logged
    assert_null (strstr (logged, zcert_secret_txt (stranger)));
    assert_null (strstr (logged, zcert_secret_txt (friend)));
    free (logged);

    zstr_free (&stranger_allowed);
    zstr_free (&stranger_public);
    zcert_destroy (&stranger);
    zstr_free (&friend_allowed);
    zstr_free (&friend_public);
    zcert_destroy (&friend);
    zstr_free (&log_path);
}

//  A CURVE server that outlives the authenticator refuses everyone
//  (ZAP_ENFORCE_DOMAIN) rather than letting everyone in.
static void
test_fails_closed_without_authenticator (void **state)
{
    hub_t *hub = s_hub_new (state);
    zcert_t *friend = s_new_pair (state, "friend");
    char *friend_public = s_path (state, "friend");
    char *friend_allowed = zsys_sprintf ("%s/friend", hub->allowed);
    s_copy (friend_public, friend_allowed);
    zsock_t *client = s_client_send (hub, friend, "first");
    char *text = s_recv_within (hub->server, ARRIVE_MS);
    assert_non_null (text);
    zstr_free (&text);
    zsock_destroy (&client);

    zactor_destroy (&hub->auth);
    client = s_client_send (hub, friend, "second");
    text = s_recv_within (hub->server, NOTHING_MS * 2);
    assert_null (text);
    zsock_destroy (&client);

    s_hub_destroy (state);
    zstr_free (&friend_allowed);
    zstr_free (&friend_public);
    zcert_destroy (&friend);
}

//  Send one ZAP request (frames as strings, or a 32-byte key for "KEY")
//  and return the reply's status code and user id.
static void
s_zap (zsock_t *requester, const char *const *frames, const byte *key, char *status,
       char *user_id)
{
    zmsg_t *request = zmsg_new ();
    for (size_t index = 0; frames [index]; index++)
        if (streq (frames [index], "KEY"))
            zmsg_addmem (request, key, 32);
        else
            zmsg_addstr (request, frames [index]);
    assert_int_equal (zmsg_send (&request, requester), 0);
    zmsg_t *reply = zmsg_recv (requester);
    assert_non_null (reply);
    assert_int_equal (zmsg_size (reply), 6);
    char *version = zmsg_popstr (reply);
    char *request_id = zmsg_popstr (reply);
    char *code = zmsg_popstr (reply);
    char *code_text = zmsg_popstr (reply);
    char *user = zmsg_popstr (reply);
    assert_string_equal (version, "1.0");
    assert_string_equal (request_id, frames [0] && frames [1] ? frames [1] : "");
    strcpy (status, code);
    strcpy (user_id, user);
    zstr_free (&user);
    zstr_free (&code_text);
    zstr_free (&code);
    zstr_free (&request_id);
    zstr_free (&version);
    zmsg_destroy (&reply);
}

//  ZAP requests written by hand, as a hostile or broken libzmq could send
//  them: each gets an answer, only an allowed CURVE key on our domain 200.
static void
test_zap_requests (void **state)
{
    hub_t *hub = s_hub_new (state);
    zcert_t *friend = s_new_pair (state, "friend");
    char *friend_public = s_path (state, "friend");
    char *friend_allowed = zsys_sprintf ("%s/friend", hub->allowed);
    s_copy (friend_public, friend_allowed);
    zcert_t *stranger = s_new_pair (state, "stranger");
    zsock_t *requester = zsock_new_req (SQ_KEYS_ZAP_ENDPOINT);
    assert_non_null (requester);
    zsock_set_rcvtimeo (requester, ARRIVE_MS);
    char status [16], user [64];

    const char *allowed [] = { "1.0", "7", "squirrel", "10.0.0.1", "", "CURVE", "KEY", NULL };
    s_zap (requester, allowed, zcert_public_key (friend), status, user);
    assert_string_equal (status, "200");
    assert_string_equal (user, zcert_public_txt (friend));

    s_zap (requester, allowed, zcert_public_key (stranger), status, user);
    assert_string_equal (status, "400");
    assert_string_equal (user, "");

    const char *other_domain [] = { "1.0", "8", "other", "10.0.0.1", "", "CURVE", "KEY", NULL };
    s_zap (requester, other_domain, zcert_public_key (friend), status, user);
    assert_string_equal (status, "400");

    const char *null_mechanism [] = { "1.0", "9", "squirrel", "10.0.0.2", "", "NULL", NULL };
    s_zap (requester, null_mechanism, NULL, status, user);
    assert_string_equal (status, "400");
    s_zap (requester, null_mechanism, NULL, status, user);
    assert_string_equal (status, "400");
    const char *plain [] = { "1.0", "10", "squirrel", "10.0.0.2", "", "PLAIN", "u", "p", NULL };
    s_zap (requester, plain, NULL, status, user);
    assert_string_equal (status, "400");
    assert_int_equal (s_stat (hub->auth, "malformed"), 0);

    const char *version [] = { "2.0", "11", "squirrel", "10.0.0.1", "", "CURVE", "KEY", NULL };
    s_zap (requester, version, zcert_public_key (friend), status, user);
    assert_string_equal (status, "500");
    const char *short_key [] = { "1.0", "12", "squirrel", "10.0.0.1", "", "CURVE", "short",
                                 NULL };
    s_zap (requester, short_key, NULL, status, user);
    assert_string_equal (status, "500");
    const char *two_frames [] = { "1.0", "13", NULL };
    s_zap (requester, two_frames, NULL, status, user);
    assert_string_equal (status, "500");
    const char *empty [] = { "", NULL };
    s_zap (requester, empty, NULL, status, user);
    assert_string_equal (status, "500");

    assert_int_equal (s_stat (hub->auth, "accepted"), 1);
    assert_int_equal (s_stat (hub->auth, "malformed"), 4);
    //  stranger, friend on the wrong domain, NULL from .2 (twice), PLAIN from .2
    assert_int_equal (s_stat (hub->auth, "refused_attempts"), 5);
    assert_int_equal (s_stat (hub->auth, "refused"), 4);

    zsock_destroy (&requester);
    zcert_destroy (&stranger);
    zstr_free (&friend_allowed);
    zstr_free (&friend_public);
    zcert_destroy (&friend);
    s_hub_destroy (state);
}

//  Files in allowed/ that are not public keys are skipped, never a crash;
//  a secret key file there is not taken.
static void
test_allowed_folder_contents (void **state)
{
    hub_t *hub = s_hub_new (state);
    zcert_t *friend = s_new_pair (state, "friend");
    char *friend_secret = s_path (state, "friend_secret");
    char *in_allowed = zsys_sprintf ("%s/friend_secret", hub->allowed);
    s_copy (friend_secret, in_allowed);
    char *junk = zsys_sprintf ("%s/junk", hub->allowed);
    s_write (junk, "not a key\n", 0644);
    char *folder = zsys_sprintf ("%s/sub", hub->allowed);
    assert_int_equal (mkdir (folder, 0700), 0);

    zsock_t *client = s_client_send (hub, friend, "in?");
    assert_int_equal (actor_wait_counter (hub->auth, "refused_attempts", 1, COUNTER_MS), 1);
    assert_null (s_recv_within (hub->server, NOTHING_MS));
    zsock_destroy (&client);
    assert_int_equal (s_stat (hub->auth, "allowed_keys"), 0);

    zstr_free (&folder);
    zstr_free (&junk);
    zstr_free (&in_allowed);
    zstr_free (&friend_secret);
    zcert_destroy (&friend);
    s_hub_destroy (state);
}

int
main (void)
{
    zsys_init ();
    const struct CMUnitTest tests [] = {
        cmocka_unit_test_setup_teardown (test_generate_modes, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_generate_refuses_existing, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_load_pair_refusals, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_fingerprint, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_hub_pair, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_server_needs_authenticator, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_allowed_refused_then_allowed, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_fails_closed_without_authenticator, s_setup,
                                         s_teardown),
        cmocka_unit_test_setup_teardown (test_zap_requests, s_setup, s_teardown),
        cmocka_unit_test_setup_teardown (test_allowed_folder_contents, s_setup, s_teardown),
    };
    int rc = cmocka_run_group_tests (tests, NULL, NULL);
    zsys_shutdown ();
    return rc;
}
