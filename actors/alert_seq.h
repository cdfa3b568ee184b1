/*  alert_seq.h: the highest alert seq ever published, kept beside the store.

    A seq names one alert for good: watchers, the SSE feed and the notifier
    take a seq they have seen as that alert.  The store keeps every alert,
    but on a full disk its writes are held in memory, and a run that stops
    then loses them: the next run would take the store's last seq and
    publish new alerts under numbers already used.  So the collector also
    writes each seq it publishes into <data_dir>/alert.seq, a file of fixed
    size made at start and rewritten in place (no new block: it works on a
    full disk, as store.health does), and a start goes on from the higher
    of the two.
*/
#ifndef SQ_ALERT_SEQ_H
#define SQ_ALERT_SEQ_H

#include <stdint.h>

#define ALERT_SEQ_FILE      "alert.seq"
#define ALERT_SEQ_BYTES     64

//  Open (make, give its size) data_dir's seq file; *seq is raised to the
//  seq it holds when that is higher.  The descriptor, or -1 (logged: seqs
//  then rest on the store alone).
int alert_seq_open (const char *data_dir, uint64_t *seq);

//  Keep seq as the highest published.  0, or -1 (logged once per failure
//  run, not per alert).
int alert_seq_keep (int fd, uint64_t seq);

//  Read the seq a file holds: 0 with *seq set, -1 if it has none.
int alert_seq_read (const char *path, uint64_t *seq);

#endif
