/*  =========================================================================
    fixture_process - run a Python test fixture as a child process

    The shared part of testsite.c and webhook.c: fork python3 on a fixture
    script with a ready file in a private mkdtemp directory, poll for that
    file with a deadline, and stop the child (SIGTERM, then SIGKILL) and
    remove the directory afterwards. Also the small helpers both need: a
    monotonic clock, a printf to a new string, a bounded file reader and a
    parser for flat JSON objects whose strings are decoded the way Python's
    json.dumps encodes them.

    Every fixture script follows the same contract:

        python3 SCRIPT --ready-file PATH --parent-pid PID [more args...]

    writes PATH atomically (PATH.tmp, then rename) with one flat JSON object
    once it serves, exits on SIGTERM/SIGINT, and exits by itself when its
    parent goes away. The child gets TMPDIR set to the private directory, so
    whatever temporary files it makes are removed by fixture_process_stop
    even if it had to be killed.
    =========================================================================
*/

#ifndef SQ_FIXTURE_PROCESS_H_INCLUDED
#define SQ_FIXTURE_PROCESS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FIXTURE_START_TIMEOUT_MS    20000   //  Wait for the ready file
#define FIXTURE_POLL_MS             20      //  Poll interval while waiting
#define FIXTURE_STOP_TIMEOUT_MS     5000    //  Wait after SIGTERM, then SIGKILL
#define FIXTURE_READY_MAX           16384   //  Largest ready file accepted

typedef struct _fixture_process_t fixture_process_t;

//  Run python3 on script (an absolute path) with "--ready-file PATH
//  --parent-pid PID" and then the NULL-terminated args (NULL for none),
//  and wait up to FIXTURE_START_TIMEOUT_MS for the ready file. name
//  prefixes messages on stderr ("testsite", "webhook"); it must outlive
//  the object. On success returns the running fixture and sets *ready_p
//  to the ready file's text (NUL-terminated, caller frees) and *length_p
//  to its length. Returns NULL on failure, with a message on stderr and
//  nothing left behind.
fixture_process_t *
    fixture_process_start (const char *name, const char *script,
                           const char *const *args,
                           char **ready_p, size_t *length_p);

//  Stop the fixture (SIGTERM, then SIGKILL after FIXTURE_STOP_TIMEOUT_MS),
//  reap it, remove the private directory and set *self_p to NULL. Safe on
//  NULL and on a fixture that already exited.
void
    fixture_process_stop (fixture_process_t **self_p);

//  True while the fixture process runs. Reaps it (without blocking) once
//  it has exited.
bool
    fixture_process_running (fixture_process_t *self);

//  The message prefix given to fixture_process_start.
const char *
    fixture_process_name (fixture_process_t *self);


//  --------------------------------------------------------------------------
//  Small helpers

//  Monotonic clock in milliseconds.
int64_t
    fixture_now_ms (void);

//  Sleep ms milliseconds (resumed after signals).
void
    fixture_sleep_ms (int ms);

//  Newly allocated formatted string, or NULL. Caller frees.
char *
    fixture_format (const char *format, ...)
    __attribute__ ((format (printf, 1, 2)));

//  Read a whole file of at most max_size bytes. Returns its text
//  (NUL-terminated, caller frees) and its length in *length_p, or NULL with
//  errno set: ENOENT if it does not exist, EFBIG if it is larger.
char *
    fixture_read_file (const char *path, size_t max_size, size_t *length_p);


//  --------------------------------------------------------------------------
//  Flat JSON objects: {"key": value, ...} where each value is a string, a
//  number, true, false or null (nested objects and arrays are rejected).

typedef enum {
    FIXTURE_JSON_STRING,                //  value decoded (may hold NUL bytes)
    FIXTURE_JSON_NUMBER,                //  value is the number's JSON text
    FIXTURE_JSON_LITERAL                //  value is "true", "false" or "null"
} fixture_json_type_t;

//  Called once per member, in order. key and value are NUL-terminated and
//  only valid during the call; length is value's length in bytes. Return
//  false to stop the parse (fixture_json_object then returns false).
typedef bool (fixture_json_member_fn) (void *arg, const char *key,
                                       fixture_json_type_t type,
                                       const char *value, size_t length);

//  Parse text (length bytes, need not be NUL-terminated) as one flat JSON
//  object, surrounding white space allowed, calling member for each
//  member. String escapes are those of JSON (\" \\ \/ \b \f \n \r \t
//  \uXXXX); \u escapes, surrogate pairs included, become UTF-8, and lone
//  surrogates are invalid. Never reads outside text. Returns false if the
//  text is not such an object or if member returned false.
bool
    fixture_json_object (const char *text, size_t length,
                         fixture_json_member_fn *member, void *arg);

//  Parse a FIXTURE_JSON_NUMBER value as an int in [low, high]; fractions
//  and exponents are rejected. Returns false if it is not one.
bool
    fixture_json_int (const char *value, int low, int high, int *value_p);

#ifdef __cplusplus
}
#endif

#endif
