/*  sq_keys.c: CURVE key files, CURVE sockets and the authenticator.
    See sq_keys.h.

    Key files are read and written here rather than with zcert_load and
    zcert_save, on purpose:
    - zcert_save_secret makes its file private through the process umask,
      which every thread shares, and fopen ("w") keeps the mode of a file
      that is already there; we create each file with O_EXCL and its final
      mode instead, so that a secret file is never readable by others and
      nothing is overwritten.
    - zconfig's loader (under zcert_load) prints syntax errors on stdout
      with the offending text, which could be part of a secret key; our
      reader's errors name the file only.
    The text stays the layout zcert writes and reads, so CZMQ tools and
    ours read each other's files (tests/test_keys.c checks both ways).
*/
#include "sq_keys.h"
#include "sq_actor.h"
#include "sq_metrics.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

//  A draft option of libzmq 4.3 (stable number since 4.3.0): without it a
//  CURVE server whose ZAP handler is gone accepts every client ("legacy
//  Stonehouse").  We set it when libzmq takes it and do not rely on it.
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#   define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

//  How many sq_auth_actor hold the ZAP endpoint (0 or 1); read by
//  sq_keys_curve_server, which refuses to make a server with no judge.
static int s_authenticators = 0;

static void
s_error (char *error, size_t size, const char *format, ...)
{
    if (!error || !size)
        return;
    va_list arguments;
    va_start (arguments, format);
    vsnprintf (error, size, format, arguments);
    va_end (arguments);
}

//  True when text is a 32-byte key in Z85.  When binary is not NULL the
//  key is decoded into it.  zmq_z85_decode refuses bad characters and
//  values, so every valid key has exactly one text: comparing texts
//  compares keys.
static bool
s_z85_valid (const char *text, byte *binary)
{
    byte scratch [32];
    return text && strlen (text) == SQ_KEYS_Z85_LENGTH
        && zmq_z85_decode (binary ? binary : scratch, text) != NULL;
}


//  --------------------------------------------------------------------------
//  Key files

//  What a key file holds, read by s_read_key_file.
typedef struct {
    char public_txt [SQ_KEYS_Z85_LENGTH + 1];   //  always, when the file was read
    char secret_txt [SQ_KEYS_Z85_LENGTH + 1];   //  when asked for; else empty
    bool has_secret;                            //  the file names a secret key
    bool missing;                               //  the file does not exist
} key_text_t;

//  Copy the quoted value after "name =" in line into out (size bytes with
//  the NUL).  0, or -1 when the line is not 'name = "value"'.
static int
s_key_value (const char *line, char *out, size_t size)
{
    const char *at = line;
    while (*at == ' ' || *at == '\t')
        at++;
    if (*at++ != '=')
        return -1;
    while (*at == ' ' || *at == '\t')
        at++;
    char quote = *at++;
    if (quote != '"' && quote != '\'')
        return -1;
    const char *end = strchr (at, quote);
    if (!end || (size_t) (end - at) >= size)
        return -1;
    memcpy (out, at, end - at);
    out [end - at] = 0;
    return 0;
}

//  Whether line starts with name followed by a blank or '='.
static bool
s_is_name (const char *line, const char *name)
{
    size_t length = strlen (name);
    return strncmp (line, name, length) == 0 && strchr (" \t=", line [length]) && line [length];
}

//  Find curve/public-key and curve/secret-key in text (ZPL as zcert
//  writes it: a section name at column 0, its items indented).  0, or -1
//  when a key is named twice or its value is not quoted.
static int
s_parse_key_text (char *text, key_text_t *key)
{
    bool in_curve = false;
    bool seen_public = false, seen_secret = false;
    char *save = NULL;
    for (char *line = strtok_r (text, "\n", &save); line; line = strtok_r (NULL, "\n", &save)) {
        if (*line != ' ' && *line != '\t') {
            //  A section name, a comment or a blank line at column 0
            if (*line != '#' && *line != '\r' && *line)
                in_curve = strncmp (line, "curve", 5) == 0
                        && strspn (line + 5, " \t\r") == strlen (line + 5);
            continue;
        }
        const char *name = line + strspn (line, " \t");
        if (!in_curve)
            continue;
        char value [SQ_KEYS_Z85_LENGTH + 1];
        if (s_is_name (name, "public-key")) {
            //  value holds 40 characters and a NUL: a longer one is refused
            if (seen_public || s_key_value (name + 10, value, sizeof (value)))
                return -1;
            seen_public = true;
            memcpy (key->public_txt, value, sizeof (value));
        }
        else
        if (s_is_name (name, "secret-key")) {
            if (seen_secret || s_key_value (name + 10, value, sizeof (value)))
                return -1;
            seen_secret = true;
            key->has_secret = true;
            memcpy (key->secret_txt, value, sizeof (value));
        }
        explicit_bzero (value, sizeof (value));
    }
    return 0;
}

//  Read file into key.  With secret, the file must be private (no access
//  for group or others) and hold a secret key that gives its public key;
//  without, any secret key in it is noted (has_secret) and wiped.  0, or
//  -1 with error set (naming the file, never a key).
static int
s_read_key_file (const char *file, bool secret, key_text_t *key, char *error, size_t size)
{
    memset (key, 0, sizeof (*key));
    //  O_NONBLOCK: a FIFO put where a key should be must not hang us
    int fd = open (file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        key->missing = errno == ENOENT;
        s_error (error, size, "%s: cannot read: %s", file, strerror (errno));
        return -1;
    }
    struct stat status;
    char *text = NULL;
    int rc = -1;
    if (fstat (fd, &status))
        s_error (error, size, "%s: cannot read: %s", file, strerror (errno));
    else
    if (!S_ISREG (status.st_mode))
        s_error (error, size, "%s is not a key file (not a regular file)", file);
    else
    if (secret && (status.st_mode & (S_IRWXG | S_IRWXO)))
        s_error (error, size, "%s is %s by others: chmod 600 %s", file,
                 status.st_mode & (S_IRGRP | S_IROTH) ? "readable"
                 : status.st_mode & (S_IWGRP | S_IWOTH) ? "writable" : "executable", file);
    else
    if (status.st_size > SQ_KEYS_FILE_MAX)
        s_error (error, size, "%s is not a key file (over %d bytes)", file, SQ_KEYS_FILE_MAX);
    else {
        size_t length = (size_t) status.st_size;
        text = (char *) malloc (length + 1);
        assert (text);
        size_t done = 0;
        errno = 0;
        while (done < length) {
            ssize_t got = read (fd, text + done, length - done);
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0)
                break;
            done += (size_t) got;
        }
        text [done] = 0;
        if (done < length)
            s_error (error, size, "%s: cannot read: %s", file,
                     errno ? strerror (errno) : "it shrank while read");
        else
        if (s_parse_key_text (text, key) || !key->public_txt [0])
            s_error (error, size, "%s is not a key file (no curve/public-key)", file);
        else
        if (!s_z85_valid (key->public_txt, NULL))
            s_error (error, size, "%s is not a key file (its public key is not 40 characters "
                     "of Z85)", file);
        else
        if (secret && !key->has_secret)
            s_error (error, size, "%s is not a secret key file (no curve/secret-key)", file);
        else
        if (secret && !s_z85_valid (key->secret_txt, NULL))
            s_error (error, size, "%s is not a key file (its secret key is not 40 characters "
                     "of Z85)", file);
        else
        if (secret) {
            char derived [SQ_KEYS_Z85_LENGTH + 1];
            if (zmq_curve_public (derived, key->secret_txt) || strcmp (derived, key->public_txt))
                s_error (error, size, "%s: its secret key does not match its public key", file);
            else
                rc = 0;
        }
        else
            rc = 0;
        explicit_bzero (text, length + 1);
        free (text);
    }
    close (fd);
    if (!secret || rc)
        explicit_bzero (key->secret_txt, sizeof (key->secret_txt));
    return rc;
}

//  Create path, which must not exist, with exactly mode.  The file is
//  created with mode (the umask can only take bits away, so it is never
//  more open than mode) and then set to mode (the umask may have taken
//  too much).  The descriptor, or -1 with error set.
static int
s_create_file (const char *path, mode_t mode, char *error, size_t size)
{
    int fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        if (errno == EEXIST)
            s_error (error, size, "%s already exists: not overwritten", path);
        else
            s_error (error, size, "%s: cannot create: %s", path, strerror (errno));
        return -1;
    }
    if (fchmod (fd, mode)) {
        s_error (error, size, "%s: cannot set mode %o: %s", path, (unsigned) mode,
                 strerror (errno));
        close (fd);
        unlink (path);
        return -1;
    }
    return fd;
}

//  Write all of text to fd, sync and close it.  0, or -1 with error set.
static int
s_write_and_close (int fd, const char *path, const char *text, char *error, size_t size)
{
    size_t length = strlen (text), done = 0;
    while (done < length) {
        ssize_t wrote = write (fd, text + done, length - done);
        if (wrote < 0 && errno == EINTR)
            continue;
        if (wrote <= 0) {
            s_error (error, size, "%s: cannot write: %s", path, strerror (errno));
            close (fd);
            return -1;
        }
        done += (size_t) wrote;
    }
    if (fsync (fd) || close (fd)) {
        s_error (error, size, "%s: cannot write: %s", path, strerror (errno));
        return -1;
    }
    return 0;
}

//  The text of a key file, in zcert's layout; with secret_txt when not NULL.
static void
s_key_file_text (char *text, size_t size, const char *public_txt, const char *secret_txt)
{
    char when [32];
    time_t now = time (NULL);
    struct tm parts;
    strftime (when, sizeof (when), "%Y-%m-%d %H:%M:%S", localtime_r (&now, &parts));
    if (secret_txt)
        snprintf (text, size,
                  "#   ****  Generated on %s by UptimeSquirrel (squirrel keygen)  ****\n"
                  "#   ZeroMQ CURVE **Secret** Certificate\n"
                  "#   Keep this file on this machine, mode 0600; never copy it elsewhere.\n"
                  "metadata\n"
                  "curve\n"
                  "    public-key = \"%s\"\n"
                  "    secret-key = \"%s\"\n", when, public_txt, secret_txt);
    else
        snprintf (text, size,
                  "#   ****  Generated on %s by UptimeSquirrel (squirrel keygen)  ****\n"
                  "#   ZeroMQ CURVE Public Certificate\n"
                  "#   Copy it into the hub's keys/allowed/ folder to let this key in.\n"
                  "metadata\n"
                  "curve\n"
                  "    public-key = \"%s\"\n", when, public_txt);
}

//  Write cert's public key file at path (mode 0644, must not exist).
static int
s_write_public (zcert_t *cert, const char *path, char *error, size_t size)
{
    int fd = s_create_file (path, 0644, error, size);
    if (fd < 0)
        return -1;
    char text [1024];
    s_key_file_text (text, sizeof (text), zcert_public_txt (cert), NULL);
    if (s_write_and_close (fd, path, text, error, size)) {
        unlink (path);
        return -1;
    }
    return 0;
}

int
sq_keys_generate (const char *path, char *error, size_t size)
{
    assert (path);
    if (!zsys_has_curve ()) {
        s_error (error, size, "this libzmq has no CURVE support (built without libsodium)");
        return -1;
    }
    zcert_t *cert = zcert_new ();
    assert (cert);
    char *secret_path = zsys_sprintf ("%s" SQ_KEYS_SECRET_SUFFIX, path);
    assert (secret_path);
    //  Both files are created (empty, with their final modes) before
    //  anything is written, so that an existing one stops us before the
    //  other is touched.
    int rc = -1;
    int public_fd = s_create_file (path, 0644, error, size);
    int secret_fd = public_fd < 0 ? -1 : s_create_file (secret_path, 0600, error, size);
    if (secret_fd >= 0) {
        char text [1024];
        s_key_file_text (text, sizeof (text), zcert_public_txt (cert), NULL);
        rc = s_write_and_close (public_fd, path, text, error, size);
        if (rc == 0) {
            s_key_file_text (text, sizeof (text), zcert_public_txt (cert),
                             zcert_secret_txt (cert));
            rc = s_write_and_close (secret_fd, secret_path, text, error, size);
            explicit_bzero (text, sizeof (text));
        }
        else
            close (secret_fd);
        if (rc) {
            unlink (path);
            unlink (secret_path);
        }
    }
    else
    if (public_fd >= 0) {
        close (public_fd);
        unlink (path);
    }
    zstr_free (&secret_path);
    zcert_destroy (&cert);
    return rc;
}

zcert_t *
sq_keys_load_pair (const char *path, char *error, size_t size)
{
    assert (path);
    char *secret_path = zsys_sprintf ("%s" SQ_KEYS_SECRET_SUFFIX, path);
    assert (secret_path);
    key_text_t key;
    zcert_t *cert = NULL;
    if (s_read_key_file (secret_path, true, &key, error, size) == 0) {
        byte public_key [32], secret_key [32];
        s_z85_valid (key.public_txt, public_key);
        s_z85_valid (key.secret_txt, secret_key);
        cert = zcert_new_from (public_key, secret_key);
        explicit_bzero (secret_key, sizeof (secret_key));
    }
    else
    if (key.missing && error)
        //  The usual mistake: a path that is not a key pair's PATH.
        snprintf (error + strlen (error), size - strlen (error),
                  " (`squirrel keygen %s` writes %s and %s)", path, path, secret_path);
    explicit_bzero (&key, sizeof (key));
    zstr_free (&secret_path);
    return cert;
}

zcert_t *
sq_keys_load_public (const char *file, char *error, size_t size)
{
    assert (file);
    key_text_t key;
    if (s_read_key_file (file, false, &key, error, size))
        return NULL;
    byte public_key [32], no_secret [32] = { 0 };
    s_z85_valid (key.public_txt, public_key);
    return zcert_new_from (public_key, no_secret);
}

//  Make path a folder, mode 0700, unless it is one already.  An existing
//  folder that others may write to is logged: whoever writes to allowed/
//  decides who gets in.  0, or -1 with error set.
static int
s_make_private_folder (const char *path, char *error, size_t size)
{
    if (mkdir (path, 0700) == 0) {
        if (chmod (path, 0700) == 0)
            return 0;
        s_error (error, size, "%s: cannot set mode 700: %s", path, strerror (errno));
        return -1;
    }
    struct stat status;
    if (errno != EEXIST || stat (path, &status)) {
        s_error (error, size, "%s: cannot create: %s", path, strerror (errno));
        return -1;
    }
    if (!S_ISDIR (status.st_mode)) {
        s_error (error, size, "%s exists and is not a folder", path);
        return -1;
    }
    if (status.st_mode & (S_IWGRP | S_IWOTH))
        zsys_warning ("keys: %s is writable by others, who could let their own keys in: "
                      "chmod 700 %s", path, path);
    return 0;
}

//  The hub's pair at public_path and secret_path: loaded, or made when
//  neither file exists.  NULL with error set.
static zcert_t *
s_hub_pair (const char *public_path, const char *secret_path, char *error, size_t size)
{
    struct stat status;
    if (lstat (secret_path, &status) == 0 || errno != ENOENT) {
        //  A pair (or something in its place): load it, refusing what is wrong
        zcert_t *cert = sq_keys_load_pair (public_path, error, size);
        if (cert && lstat (public_path, &status) && errno == ENOENT) {
            //  The public half was lost: it is derived from the secret one
            if (s_write_public (cert, public_path, error, size))
                zcert_destroy (&cert);
            else
                zsys_info ("keys: wrote the hub's missing public key %s again", public_path);
        }
        return cert;
    }
    if (lstat (public_path, &status) == 0) {
        s_error (error, size, "%s exists without %s: move %s away to make a new pair (every "
                 "pinger and watcher must then be given the new %s)", public_path, secret_path,
                 public_path, public_path);
        return NULL;
    }
    if (sq_keys_generate (public_path, error, size))
        return NULL;
    zcert_t *cert = sq_keys_load_pair (public_path, error, size);
    if (cert)
        zsys_info ("keys: created the hub's key pair; its public key is %s", public_path);
    return cert;
}

zcert_t *
sq_keys_hub (const char *keys_dir, char *error, size_t size)
{
    assert (keys_dir);
    char *allowed = zsys_sprintf ("%s/" SQ_KEYS_ALLOWED_NAME, keys_dir);
    char *public_path = zsys_sprintf ("%s/" SQ_KEYS_HUB_NAME, keys_dir);
    char *secret_path = zsys_sprintf ("%s" SQ_KEYS_SECRET_SUFFIX, public_path);
    assert (allowed && public_path && secret_path);
    zcert_t *cert = NULL;
    if (s_make_private_folder (keys_dir, error, size) == 0
    &&  s_make_private_folder (allowed, error, size) == 0)
        cert = s_hub_pair (public_path, secret_path, error, size);
    zstr_free (&allowed);
    zstr_free (&public_path);
    zstr_free (&secret_path);
    return cert;
}

int
sq_keys_fingerprint (const char *public_z85, char *out, size_t size)
{
    assert (out && size > SQ_KEYS_FINGERPRINT_LENGTH);
    out [0] = 0;
    if (!s_z85_valid (public_z85, NULL))
        return -1;
    memcpy (out, public_z85, SQ_KEYS_FINGERPRINT_LENGTH);
    out [SQ_KEYS_FINGERPRINT_LENGTH] = 0;
    return 0;
}


//  --------------------------------------------------------------------------
//  CURVE sockets

int
sq_keys_curve_server_z85 (zsock_t *socket, const char *public_z85, const char *secret_z85)
{
    assert (socket);
    if (!zsys_has_curve ()) {
        zsys_error ("keys: this libzmq has no CURVE support (built without libsodium)");
        return -1;
    }
    if (!s_z85_valid (public_z85, NULL) || !s_z85_valid (secret_z85, NULL)) {
        zsys_error ("keys: a CURVE server key is not 40 characters of Z85");
        return -1;
    }
    if (__atomic_load_n (&s_authenticators, __ATOMIC_SEQ_CST) == 0) {
        zsys_error ("keys: no authenticator is running: a CURVE server now would let "
                    "every key in");
        return -1;
    }
    zsock_set_zap_domain (socket, SQ_KEYS_ZAP_DOMAIN);
    int enforce = 1;
    if (zmq_setsockopt (zsock_resolve (socket), ZMQ_ZAP_ENFORCE_DOMAIN, &enforce,
                        sizeof (enforce)))
        zsys_debug ("keys: this libzmq has no ZAP_ENFORCE_DOMAIN: keep the authenticator "
                    "running as long as CURVE servers are open");
    zsock_set_curve_server (socket, 1);
    zsock_set_curve_publickey (socket, public_z85);
    zsock_set_curve_secretkey (socket, secret_z85);
    return 0;
}

int
sq_keys_curve_server (zsock_t *socket, const zcert_t *hub)
{
    assert (hub);
    //  zcert's getters only read, but are declared on a non-const cert
    zcert_t *cert = (zcert_t *) hub;
    return sq_keys_curve_server_z85 (socket, zcert_public_txt (cert), zcert_secret_txt (cert));
}

int
sq_keys_curve_client_z85 (zsock_t *socket, const char *public_z85, const char *secret_z85,
                          const char *server_public_z85)
{
    assert (socket);
    if (!zsys_has_curve ()) {
        zsys_error ("keys: this libzmq has no CURVE support (built without libsodium)");
        return -1;
    }
    if (!s_z85_valid (public_z85, NULL) || !s_z85_valid (secret_z85, NULL)) {
        zsys_error ("keys: a CURVE client key is not 40 characters of Z85");
        return -1;
    }
    if (!s_z85_valid (server_public_z85, NULL)) {
        zsys_error ("keys: the server's public key is not 40 characters of Z85");
        return -1;
    }
    zsock_set_curve_serverkey (socket, server_public_z85);
    zsock_set_curve_publickey (socket, public_z85);
    zsock_set_curve_secretkey (socket, secret_z85);
    return 0;
}

int
sq_keys_curve_client (zsock_t *socket, const zcert_t *mine, const char *server_public_z85)
{
    assert (mine);
    zcert_t *cert = (zcert_t *) mine;      //  only read, as above
    return sq_keys_curve_client_z85 (socket, zcert_public_txt (cert), zcert_secret_txt (cert),
                                     server_public_z85);
}


//  --------------------------------------------------------------------------
//  The authenticator (ZAP handler, RFC 27)

static const char *const s_auth_counter_names [] = { AUTH_COUNTERS (SQ_COUNTER_STRING) };

typedef struct {
    zsock_t *pipe;              //  to our creator
    zsock_t *handler;           //  REP bound at the ZAP endpoint; libzmq asks here
    bool bound;                 //  handler holds the endpoint (counted in s_authenticators)
    char *allowed_dir;          //  folder of allowed public key files (our copy)
    zhashx_t *allowed;          //  Z85 public key -> marker, from the last reading
    struct timespec read_mtime; //  allowed_dir's mtime at the last reading ({-1,-1}: none)
    int64_t read_at;            //  monotonic ms of the last reading
    zhashx_t *refused;          //  peers refused and logged: "CURVE key" or "MECH domain address"
    bool refused_full;          //  said once that refused is full
    uint64_t counters [AUTH_COUNTER_COUNT];
} auth_t;

//  allowed_dir's modification time, {-1, -1} when it cannot be read.
static struct timespec
s_folder_mtime (const char *path)
{
    struct stat status;
    if (stat (path, &status))
        return (struct timespec) { -1, -1 };
    return status.st_mtim;
}

//  Read allowed_dir into a new allowed table.  With report, files that are
//  skipped, and a folder that cannot be read, are logged (a reading that
//  follows a change of the folder reports; the rescans for an unknown key
//  do not, so nothing is logged over and over).  A folder that cannot be
//  read leaves nothing allowed.
static void
s_read_allowed (auth_t *self, bool report)
{
    //  The time is taken before reading, so a change during it is seen next
    self->read_mtime = s_folder_mtime (self->allowed_dir);
    self->read_at = zclock_mono ();
    self->counters [AUTH_reloads]++;
    zhashx_purge (self->allowed);
    DIR *folder = opendir (self->allowed_dir);
    if (!folder) {
        if (report)
            zsys_error ("auth: %s: cannot read: %s; every key is refused", self->allowed_dir,
                        strerror (errno));
        self->counters [AUTH_allowed_keys] = 0;
        return;
    }
    struct dirent *entry;
    while ((entry = readdir (folder))) {
        if (entry->d_name [0] == '.')
            continue;               //  ".", "..", and hidden files (editors' leftovers)
        char *file = zsys_sprintf ("%s/%s", self->allowed_dir, entry->d_name);
        assert (file);
        char error [512];
        key_text_t key;
        if (s_read_key_file (file, false, &key, error, sizeof (error))) {
            if (report)
                zsys_warning ("auth: skipped %s", error);
        }
        else
        if (key.has_secret) {
            if (report)
                zsys_warning ("auth: skipped %s: it holds a secret key, which should never "
                              "leave its machine; allowed/ takes public key files only", file);
        }
        else
            zhashx_update (self->allowed, key.public_txt, (void *) "allowed");
        zstr_free (&file);
    }
    closedir (folder);
    self->counters [AUTH_allowed_keys] = zhashx_size (self->allowed);
}

//  Whether key (Z85) is allowed.  allowed_dir is read again first when it
//  changed, and once more for a key not found when the last reading is at
//  least SQ_AUTH_RESCAN_MS old: a file copied in in place, or written
//  after its name appeared, does not change the folder's time.
static bool
s_key_allowed (auth_t *self, const char *key)
{
    struct timespec mtime = s_folder_mtime (self->allowed_dir);
    if (mtime.tv_sec != self->read_mtime.tv_sec || mtime.tv_nsec != self->read_mtime.tv_nsec)
        s_read_allowed (self, true);
    if (zhashx_lookup (self->allowed, key))
        return true;
    if (zclock_mono () - self->read_at < SQ_AUTH_RESCAN_MS)
        return false;
    s_read_allowed (self, false);
    return zhashx_lookup (self->allowed, key) != NULL;
}

//  Count a refused handshake, and the peer once: the first refusal of each
//  peer is logged with line, the later ones only counted in refused_attempts.
static void
s_refused (auth_t *self, const char *peer, const char *line)
{
    self->counters [AUTH_refused_attempts]++;
    if (zhashx_lookup (self->refused, peer))
        return;
    self->counters [AUTH_refused]++;
    if (zhashx_size (self->refused) < SQ_AUTH_REFUSED_MAX) {
        zhashx_insert (self->refused, peer, (void *) "refused");
        zsys_warning ("auth: %s", line);
    }
    else
    if (!self->refused_full) {
        self->refused_full = true;
        zsys_warning ("auth: over %d peers refused: further ones are counted, not logged",
                      SQ_AUTH_REFUSED_MAX);
    }
}

//  A frame as printable text for a log line: at most size - 1 bytes, and
//  any byte that is not printable ASCII shown as '?'.
static void
s_printable (zframe_t *frame, char *out, size_t size)
{
    size_t length = frame ? zframe_size (frame) : 0;
    if (length > size - 1)
        length = size - 1;
    const byte *data = frame ? zframe_data (frame) : NULL;
    for (size_t index = 0; index < length; index++)
        out [index] = data [index] >= 0x20 && data [index] < 0x7f ? (char) data [index] : '?';
    out [length] = 0;
}

static bool
s_frame_is (zframe_t *frame, const char *text)
{
    return frame && zframe_streq (frame, text);
}

//  Send the ZAP reply: version, the request's id, status code and text,
//  user id, and no metadata.
static void
s_reply (auth_t *self, zframe_t *request_id, const char *code, const char *text,
         const char *user_id)
{
    zmsg_t *reply = zmsg_new ();
    zmsg_addstr (reply, "1.0");
    if (request_id)
        zmsg_addmem (reply, zframe_data (request_id), zframe_size (request_id));
    else
        zmsg_addstr (reply, "");
    zmsg_addstr (reply, code);
    zmsg_addstr (reply, text);
    zmsg_addstr (reply, user_id);
    zmsg_addmem (reply, NULL, 0);
    if (zmsg_send (&reply, self->handler))
        zsys_warning ("auth: cannot send a ZAP reply: %s", zmq_strerror (zmq_errno ()));
    zmsg_destroy (&reply);
}

//  One ZAP request: version, request id, domain, address, identity,
//  mechanism, credentials.  Every request gets a reply (the REP socket
//  takes no other request before it): 200 for an allowed CURVE key, 400
//  for any other peer, 500 for a request that breaks RFC 27.
static void
s_handle_request (auth_t *self)
{
    zmsg_t *request = zmsg_recv (self->handler);
    if (!request)
        return;                     //  interrupted
    //  The first seven frames, NULL where there are fewer (zmsg_next
    //  starts over after the last frame, so we stop at the first NULL)
    enum { VERSION, REQUEST_ID, DOMAIN, ADDRESS, IDENTITY, MECHANISM, CREDENTIALS, FRAMES };
    zframe_t *frames [FRAMES] = { NULL };
    zframe_t *frame = zmsg_first (request);
    for (size_t index = 0; index < FRAMES && frame; index++) {
        frames [index] = frame;
        frame = zmsg_next (request);
    }
    zframe_t *version = frames [VERSION], *request_id = frames [REQUEST_ID];
    zframe_t *domain = frames [DOMAIN], *address = frames [ADDRESS];
    zframe_t *mechanism = frames [MECHANISM], *credentials = frames [CREDENTIALS];
    char address_text [64], mechanism_text [16], domain_text [32];
    s_printable (address, address_text, sizeof (address_text));
    s_printable (mechanism, mechanism_text, sizeof (mechanism_text));
    s_printable (domain, domain_text, sizeof (domain_text));
    bool is_curve = s_frame_is (mechanism, "CURVE");

    if (!mechanism || !s_frame_is (version, "1.0")
    ||  (is_curve && (zmsg_size (request) != FRAMES || zframe_size (credentials) != 32))) {
        self->counters [AUTH_malformed]++;
        sq_metrics_refused (SQ_ACTOR_AUTH);
        zsys_warning ("auth: malformed ZAP request (%zu frames, mechanism '%s') from '%s'",
                      zmsg_size (request), mechanism_text, address_text);
        s_reply (self, request_id, "500", "malformed ZAP request", "");
    }
    else
    if (!is_curve || !s_frame_is (domain, SQ_KEYS_ZAP_DOMAIN)) {
        char peer [160], line [256];
        snprintf (peer, sizeof (peer), "%s %s %s", mechanism_text, domain_text, address_text);
        snprintf (line, sizeof (line), "refused a %s handshake on domain '%s' from %s: only "
                  "CURVE keys on domain '" SQ_KEYS_ZAP_DOMAIN "' are accepted", mechanism_text,
                  domain_text, address_text);
        s_refused (self, peer, line);
        s_reply (self, request_id, "400", "only CURVE on domain " SQ_KEYS_ZAP_DOMAIN, "");
    }
    else {
        char key [SQ_KEYS_Z85_LENGTH + 1];
        zmq_z85_encode (key, zframe_data (credentials), 32);
        char peer [sizeof (key) + 8];
        snprintf (peer, sizeof (peer), "CURVE %s", key);
        if (s_key_allowed (self, key)) {
            self->counters [AUTH_accepted]++;
            //  Refused before, allowed now: a later refusal is news again
            zhashx_delete (self->refused, peer);
            s_reply (self, request_id, "200", "OK", key);
        }
        else {
            char fingerprint [SQ_KEYS_FINGERPRINT_LENGTH + 1], line [512];
            sq_keys_fingerprint (key, fingerprint, sizeof (fingerprint));
            snprintf (line, sizeof (line), "refused CURVE key %s from %s: not in %s (copy the "
                      "key's public file there to let it in)", fingerprint, address_text,
                      self->allowed_dir);
            s_refused (self, peer, line);
            s_reply (self, request_id, "400", "key not allowed", "");
        }
    }
    zmsg_destroy (&request);
}

//  A pipe command.  -1 on $TERM.
static int
s_handle_pipe (auth_t *self)
{
    char *command = sq_actor_recv_command (self->pipe, NULL);
    int rc = 0;
    if (streq (command, SQ_CMD_TERM))
        rc = -1;
    else
    if (streq (command, SQ_CMD_STATS)) {
        sq_actor_send_counters (self->pipe, s_auth_counter_names, self->counters, AUTH_COUNTER_COUNT);
    }
    else
        zsys_warning ("auth: unknown pipe command '%s'", command);
    zstr_free (&command);
    return rc;
}

static void
s_auth_destroy (auth_t **self_p)
{
    assert (self_p);
    auth_t *self = *self_p;
    if (!self)
        return;
    if (self->handler) {
        //  Unbind first: closing alone frees the endpoint only later, and
        //  the next authenticator must be able to bind it at once.
        if (self->bound) {
            __atomic_sub_fetch (&s_authenticators, 1, __ATOMIC_SEQ_CST);
            zsock_unbind (self->handler, SQ_KEYS_ZAP_ENDPOINT);
        }
        zsock_destroy (&self->handler);
    }
    zhashx_destroy (&self->allowed);
    zhashx_destroy (&self->refused);
    zstr_free (&self->allowed_dir);
    free (self);
    *self_p = NULL;
}

static auth_t *
s_auth_new (zsock_t *pipe, const sq_auth_args_t *args, char *error, size_t size)
{
    assert (args && args->allowed_dir);
    auth_t *self = (auth_t *) zmalloc (sizeof (auth_t));
    assert (self);
    self->pipe = pipe;
    self->allowed_dir = strdup (args->allowed_dir);
    self->allowed = zhashx_new ();
    self->refused = zhashx_new ();
    assert (self->allowed_dir && self->allowed && self->refused);
    DIR *folder = opendir (self->allowed_dir);
    if (!folder) {
        s_error (error, size, "%s: cannot read: %s", self->allowed_dir, strerror (errno));
        s_auth_destroy (&self);
        return NULL;
    }
    closedir (folder);
    self->handler = zsock_new (ZMQ_REP);
    assert (self->handler);
    if (zsock_bind (self->handler, SQ_KEYS_ZAP_ENDPOINT) != 0) {
        s_error (error, size, "cannot bind %s (%s): another authenticator runs in this "
                 "process", SQ_KEYS_ZAP_ENDPOINT, zmq_strerror (zmq_errno ()));
        zsock_destroy (&self->handler);
        s_auth_destroy (&self);
        return NULL;
    }
    self->bound = true;
    __atomic_add_fetch (&s_authenticators, 1, __ATOMIC_SEQ_CST);
    s_read_allowed (self, true);
    return self;
}

void
sq_auth_actor (zsock_t *pipe, void *args)
{
    char error [512] = "";
    auth_t *self = s_auth_new (pipe, (const sq_auth_args_t *) args, error, sizeof (error));
    if (!self) {
        sq_actor_report (pipe, error);
        return;
    }
    sq_actor_report (pipe, NULL);
    zpoller_t *poller = zpoller_new (pipe, self->handler, NULL);
    assert (poller);
    //  Only $TERM ends the authenticator: a signal that interrupts the
    //  poll must not leave the CURVE servers without their ZAP handler.
    zpoller_set_nonstop (poller, true);
    while (true) {
        void *which = zpoller_wait (poller, -1);
        if (which == pipe) {
            if (s_handle_pipe (self))
                break;
        }
        else
        if (which == self->handler)
            s_handle_request (self);
        else
        if (zpoller_terminated (poller))
            break;
    }
    zpoller_destroy (&poller);
    s_auth_destroy (&self);
}
