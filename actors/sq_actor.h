/*  sq_actor.h: the one start-up and pipe convention every actor shares.

    Every actor is a CZMQ zactor: `void x_actor (zsock_t *pipe, void *args)`.
    It builds its private self (sockets from endpoint strings only), then
    calls sq_actor_report once: that signals the pipe and says whether set-up
    worked.  The creator uses sq_actor_start, which returns NULL (and logs
    why) when set-up failed.  "$TERM" on the pipe ends the actor; "STATS"
    is answered with one line of counters ("name=value ...").
*/
#ifndef SQ_ACTOR_H_INCLUDED
#define SQ_ACTOR_H_INCLUDED

#include <czmq.h>
#include "sq_proto.h"
#include "sq_defaults.h"

//  Pipe commands, declared once (each actor's header says which it takes).
#define SQ_CMD_TERM     "$TERM"     //  stop (zactor_destroy sends it)
#define SQ_CMD_STATS    "STATS"     //  -> one counters line
#define SQ_CMD_SITES    "SITES"     //  + a site list; signal when taken
#define SQ_CMD_OWNERS   "OWNERS"    //  notifier: + an owner list (OWNER frames); signal
#define SQ_CMD_DRAIN    "DRAIN"     //  collector: take every queued result, then signal
#define SQ_CMD_SYNC     "SYNC"      //  notifier: "SYNC <seq>" -> "OK <seq>"
#define SQ_CMD_FLUSH    "FLUSH"     //  store writer: commit now -> "OK" or "ERROR why"
#define SQ_CMD_PRUNE    "PRUNE"     //  store writer: prune now -> "OK N" or "ERROR why"
#define SQ_CMD_VERDICT  "VERDICT"   //  collector -> creator, unasked (sweep)

#include "sq_counters.h"

//  Start task with args and wait for its set-up verdict.  NULL on failure.
//  The first call also runs libcurl's global set-up, before any actor
//  thread exists.
zactor_t *sq_actor_start (zactor_fn *task, void *args, const char *name);

//  Called by an actor when set-up is done: error NULL means ready.  After
//  reporting an error the actor waits for $TERM and returns.
void sq_actor_report (zsock_t *pipe, const char *error);

//  Ask a running actor for its counters line.  Caller frees; NULL on timeout.
//  Reports the actor sends unasked (a collector's VERDICTs) that arrive
//  before the answer are read and dropped: do not call it while you still
//  expect those.
char *sq_actor_stats (zactor_t *actor);

//  Answer STATS: send the counters line for count counters on the pipe.
void sq_actor_send_counters (zsock_t *pipe, const char *const *names, const uint64_t *values,
                             size_t count);

//  Read "name=value" out of a counters line; -1 if absent.
long long sq_stats_value (const char *stats, const char *name);

//  Receive one pipe command.  Returns the command (caller frees; "$TERM"
//  when the pipe broke), and, when rest_p is not NULL, the frames that
//  follow it (caller destroys), or NULL if there are none.
char *sq_actor_recv_command (zsock_t *pipe, zmsg_t **rest_p);

//  Bind socket to a local endpoint (inproc:// or ipc://).  An ipc socket
//  file is made mode 0600 at once: another user of this host can neither
//  inject jobs or results nor read the feed.  0, or -1.
int sq_actor_bind (zsock_t *socket, const char *endpoint);

//  CURVE keys for a tcp:// link, as Z85 text (40 characters each).  The
//  actors take keys as text, never files: files and the authenticator
//  belong to broker/ (sq_keys.h).
typedef struct {
    const char *public_key;     //  our public key
    const char *secret_key;     //  our secret key (never logged)
    const char *server_key;     //  client side: the server's public key
} sq_curve_t;

//  The key that marks the jobs a hub issues (CHECK.token, echoed in
//  RESULT.token): the dispatcher marks each job, the collector accepts
//  only results whose mark matches, so a forged or stray job id changes
//  nothing.  Shared by the two (threads of one topology, or read by both
//  from data_dir/job.key).  Not set: no mark is made or checked.
#define SQ_JOB_KEY_SIZE     16
#define SQ_JOB_KEY_FILE     "job.key"

typedef struct {
    uint8_t bytes [SQ_JOB_KEY_SIZE];
    bool set;
} sq_job_key_t;

//  A fresh random key.
void sq_job_key_random (sq_job_key_t *key);

//  The key kept in data_dir/job.key, made (mode 0600, random) when there
//  is none.  0, or -1 with the reason in error.
int sq_job_key_load (const char *data_dir, sq_job_key_t *key, char *error, size_t error_size);

//  The mark of job job_id for site_id under key (SipHash-2-4); 0 when the
//  key is not set.
uint64_t sq_job_token (const sq_job_key_t *key, uint64_t job_id, uint64_t site_id);

//  Bind socket to a second, remote endpoint (tcp://) beside its local
//  ones: a CURVE server with curve's keys and the ZAP domain "squirrel",
//  frames capped at SQ_REMOTE_FRAME_MAX, ZMTP heartbeats on.  Call after
//  every local bind (inproc:// peers never go through CURVE).  The ZAP
//  domain is enforced: with no authenticator running, everyone is refused
//  (libzmq would let every CURVE client in).  Returns what zsock_bind does
//  (the port for tcp://HOST:*, else 0), or -1.
int sq_actor_bind_remote (zsock_t *socket, const char *endpoint, const sq_curve_t *curve);

//  Make socket a CURVE client of a remote endpoint, with frames capped,
//  heartbeats on and reconnects backing off, then connect.  curve NULL
//  (or without keys) connects as it is: inproc and ipc.  0, or -1.
int sq_actor_connect (zsock_t *socket, const char *endpoint, const sq_curve_t *curve);

//  A site list travels as a batch: a zmsg whose frames each pack many
//  encoded messages (the bytes a socket would carry for each), every one
//  preceded by its size in two bytes, big-endian; a frame holds at most
//  SQ_BATCH_FRAME_MAX bytes.  Packing matters at scale: a frame per site
//  cost an allocation per site in every copy and every actor's receive
//  (a quarter of a 100,000-site start).  Built with sq_batch_writer_t,
//  read with sq_batch_reader_t; a batch is never sent across processes.
#define SQ_BATCH_FRAME_MAX  (64 * 1024)

typedef struct _sq_batch_writer_t sq_batch_writer_t;

//  A writer of a new, empty batch.
sq_batch_writer_t *sq_batch_writer_new (void);

//  Encode msg and add it to the batch.  0, or -1 if it cannot be encoded
//  (the batch is unchanged).
int sq_batch_add (sq_batch_writer_t *self, const sq_msg_t *msg);

//  Add bytes that are already one encoded message (at most SQ_FRAME_MAX:
//  a test hands an actor a frame that is not a valid message this way).
void sq_batch_add_raw (sq_batch_writer_t *self, const void *data, size_t size);

//  The batch built (the caller's), and the writer destroyed.
zmsg_t *sq_batch_writer_end (sq_batch_writer_t **self_p);

//  Reads a batch message by message, taking its frames as it goes
//  (destroyed as they are read).  Start one as { .batch = batch }; read it
//  to the end (0), or end it early with sq_batch_reader_end.
typedef struct {
    zmsg_t *batch;              //  frames not yet read
    zframe_t *frame;            //  the frame being read, or NULL
    size_t offset;              //  where its next entry starts
} sq_batch_reader_t;

//  Hand an actor that takes "SITES" (dispatcher, collector, notifier) a
//  batch; the batch stays the caller's (the actor gets a copy).  Waits
//  until the actor has taken it.  0, or -1.
int sq_actor_set_sites (zactor_t *actor, zmsg_t *batch);

//  The same for any list: command + a batch, wait for the signal.
int sq_actor_set_batch (zactor_t *actor, const char *command, zmsg_t *batch);

//  Only the sending half of it: the caller waits for the actor's signal
//  (zsock_wait) itself, so that several actors can take a list at once.
int sq_actor_send_batch (zactor_t *actor, const char *command, zmsg_t *batch);

//  Take the next message of type out of a batch.  1 with msg filled, 0 at
//  the end (every frame destroyed), -1 for an entry that is not a valid
//  message of that type (logged with who, counted; where a frame's sizes
//  run past its end, the rest of that frame is dropped, counted once).
int sq_batch_next (sq_batch_reader_t *reader, sq_msg_type_t type, sq_msg_t *msg,
                   const char *who, uint64_t *malformed);

//  A reader given up before the end: the frame it holds is destroyed (the
//  frames not yet read stay in the batch, the caller's).
void sq_batch_reader_end (sq_batch_reader_t *reader);

//  Take the next SITE out of a batch: as sq_batch_next.
int sq_sites_next (sq_batch_reader_t *reader, sq_site_t *site, const char *who,
                   uint64_t *malformed);

//  A destructor for containers of plain malloc'd items: free, null the item.
void sq_free_item (void **item);

//  A hash table keyed by site id (uint64_t cast to a pointer, never 0);
//  values are freed with destructor, if not NULL.
zhashx_t *sq_id_table_new (zhashx_destructor_fn *destructor);

#endif
