/*  sq_keys.h: CURVE keys for tcp:// links, and the authenticator that
    decides which peers the hub lets in.

    Key files are ZPL text in the layout CZMQ's zcert writes and reads
    ("curve/public-key", "curve/secret-key", each 40 characters of Z85):
    a key pair is PATH (public key only, mode 0644) and PATH_secret (both
    keys, mode 0600).  `squirrel keygen PATH` writes one; `--key PATH`
    names one; `--server-key FILE` names a public key file.  The hub keeps
    its own pair as KEYS/hub and KEYS/hub_secret, and the public key of
    every pinger or watcher it accepts as a file in KEYS/allowed/.

    Secret keys never reach a log line or an error message: errors name
    files, fingerprints name public keys.

    Ownership: every zcert_t * returned here is the caller's, to destroy
    with zcert_destroy; every zcert_t * or string passed in stays the
    caller's and is only read.  Functions that can fail on a file write a
    one-line message (naming the file, never a key) into error, which may
    be NULL.
*/
#ifndef SQ_KEYS_H_INCLUDED
#define SQ_KEYS_H_INCLUDED

#include <czmq.h>
#include "sq_counters.h"

#define SQ_KEYS_SECRET_SUFFIX   "_secret"                   //  PATH -> PATH_secret
#define SQ_KEYS_HUB_NAME        "hub"                       //  KEYS/hub, KEYS/hub_secret
#define SQ_KEYS_ALLOWED_NAME    "allowed"                   //  KEYS/allowed/
#define SQ_KEYS_ZAP_DOMAIN      "squirrel"                  //  ZAP domain of our CURVE servers
#define SQ_KEYS_ZAP_ENDPOINT    "inproc://zeromq.zap.01"    //  fixed by libzmq (RFC 27)
#define SQ_KEYS_Z85_LENGTH      40                          //  a 32-byte key in Z85
#define SQ_KEYS_FINGERPRINT_LENGTH 12                       //  characters, see below
#define SQ_KEYS_FILE_MAX        65536                       //  a key file is ~300 bytes

//  Write a new key pair: PATH (public key, mode 0644) and PATH_secret
//  (mode 0600 from the moment it exists, whatever the umask).  Neither file
//  may exist already: nothing is overwritten.  0, or -1 with error set (and
//  neither file left behind).
int sq_keys_generate (const char *path, char *error, size_t size);

//  Load the pair that PATH names, from PATH_secret.  Refused (NULL, error
//  set) when PATH_secret is missing or unreadable, is not a key file, holds
//  a secret key that does not give its public key, or is readable or
//  writable by group or others (the message says what to chmod).
zcert_t *sq_keys_load_pair (const char *path, char *error, size_t size);

//  Load only the public key of a key file (for --server-key, and the files
//  of allowed/).  The returned cert's secret key is all zeros.  NULL, error
//  set, when file is unreadable or holds no valid public key.
zcert_t *sq_keys_load_public (const char *file, char *error, size_t size);

//  The hub's pair, keys_dir/hub and keys_dir/hub_secret, created (and
//  logged at info, naming the public key file) when neither exists yet.
//  keys_dir and keys_dir/allowed are created mode 0700 when missing.
//  NULL, error set, on any failure (including a hub file without its
//  hub_secret, which is never replaced).
zcert_t *sq_keys_hub (const char *keys_dir, char *error, size_t size);

//  A short printable name of a public key for logs: its first 12 Z85
//  characters.  Chosen over a hash so that `grep -r FINGERPRINT allowed/`
//  finds the file; 12 characters (about 76 bits) tell keys apart but do
//  not authenticate anything.  out must hold 13 bytes.  0, or -1 (out
//  empty) when public_z85 is not a 40-character Z85 key.
int sq_keys_fingerprint (const char *public_z85, char *out, size_t size);

//  Make socket a CURVE server with the hub's pair and ZAP domain
//  "squirrel", so that the authenticator decides who connects.  Refused
//  (-1, logged) when no sq_auth_actor is running in this process: libzmq
//  would then let any CURVE client in.  Also sets ZMQ_ZAP_ENFORCE_DOMAIN
//  where libzmq has it, so that a server outliving the authenticator
//  refuses everyone rather than accepting everyone.  Call before bind.
int sq_keys_curve_server (zsock_t *socket, const zcert_t *hub);

//  The same from Z85 strings (for actors that are handed keys as text).
int sq_keys_curve_server_z85 (zsock_t *socket, const char *public_z85, const char *secret_z85);

//  Make socket a CURVE client with our own pair, trusting only the server
//  whose public key is server_public_z85.  Call before connect.  0, or -1
//  (logged) when a key is not 40 characters of Z85.
int sq_keys_curve_client (zsock_t *socket, const zcert_t *mine, const char *server_public_z85);

//  The same from Z85 strings.
int sq_keys_curve_client_z85 (zsock_t *socket, const char *public_z85, const char *secret_z85,
                              const char *server_public_z85);

//  The authenticator: a zactor that answers ZAP (RFC 27) for the whole
//  process, like CZMQ's zauth; only one can run at a time (a second one
//  fails to start).  It accepts a CURVE client on domain "squirrel" only
//  when the client's public key is in a file of allowed_dir, and refuses
//  everything else: other mechanisms, other domains, unknown keys,
//  malformed requests.  allowed_dir is read at start, again whenever the
//  folder changes, and again on an unknown key when the last reading is
//  at least SQ_AUTH_RESCAN_MS old (a key file copied in is accepted
//  without a restart, even one half-written when the folder changed).
//  Each refused key (or mechanism and address, when there is no key) is
//  logged and counted once, with its fingerprint and the peer's address;
//  every refused handshake is counted in refused_attempts.  Start it
//  before any CURVE server binds, stop it after they are closed.
//  Pipe: "$TERM", "STATS".
#define SQ_AUTH_RESCAN_MS   1000    //  at most one reading per second for unknown keys
#define SQ_AUTH_REFUSED_MAX 10000   //  refused peers remembered, each logged once; peers
                                    //  beyond are counted on every attempt, not logged

#define AUTH_COUNTERS(C) \
    C (AUTH, accepted,         "handshakes accepted") \
    C (AUTH, refused,          "peers refused, each once: a CURVE key, or a mechanism and address") \
    C (AUTH, refused_attempts, "handshakes refused, every one") \
    C (AUTH, malformed,        "ZAP requests that break RFC 27, answered 500") \
    C (AUTH, allowed_keys,     "public keys in allowed/ at the last reading") \
    C (AUTH, reloads,          "readings of allowed/")

typedef enum { AUTH_COUNTERS (SQ_COUNTER_ENUM) AUTH_COUNTER_COUNT } auth_counter_t;

typedef struct {
    const char *allowed_dir;    //  folder of public key files; read during set-up and after
} sq_auth_args_t;

//  The zactor task.  args is an sq_auth_args_t *; allowed_dir is copied.
//  Set-up fails when allowed_dir cannot be read or another authenticator
//  holds the ZAP endpoint.
void sq_auth_actor (zsock_t *pipe, void *args);

#endif
