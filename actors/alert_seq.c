/*  alert_seq.c: see alert_seq.h. */
#include "alert_seq.h"

#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

//  The text: "seq N\n", NUL-padded to ALERT_SEQ_BYTES.
static int
s_parse (const char *text, uint64_t *seq)
{
    char *end = NULL;
    if (strncmp (text, "seq ", 4) != 0 || text [4] < '0' || text [4] > '9')
        return -1;
    errno = 0;
    unsigned long long value = strtoull (text + 4, &end, 10);
    if (errno || *end != '\n')
        return -1;
    *seq = (uint64_t) value;
    return 0;
}

int
alert_seq_read (const char *path, uint64_t *seq)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -1;
    char text [ALERT_SEQ_BYTES + 1] = "";
    ssize_t size = read (fd, text, ALERT_SEQ_BYTES);
    close (fd);
    if (size <= 0)
        return -1;
    text [size] = '\0';
    return s_parse (text, seq);
}

int
alert_seq_open (const char *data_dir, uint64_t *seq)
{
    char path [PATH_MAX];
    snprintf (path, sizeof (path), "%s/%s", data_dir, ALERT_SEQ_FILE);
    uint64_t kept = 0;
    if (alert_seq_read (path, &kept) == 0 && kept > *seq) {
        zsys_warning ("collector: the store's last alert is #%" PRIu64 " but #%" PRIu64 " was "
                      "published (writes lost on a full disk?): alerts go on after it",
                      *seq, kept);
        *seq = kept;
    }
    int fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    struct stat info;
    int rc = fd < 0 ? errno
           : fstat (fd, &info) ? errno
           : info.st_size >= ALERT_SEQ_BYTES ? 0
           : posix_fallocate (fd, 0, ALERT_SEQ_BYTES);
    if (rc) {
        zsys_warning ("collector: cannot make %s: %s; should the disk fill and the run stop, "
                      "alert numbers may be used again", path, strerror (rc));
        if (fd >= 0)
            close (fd);
        return -1;
    }
    return fd;
}

int
alert_seq_keep (int fd, uint64_t seq)
{
    static _Thread_local bool s_failing = false;
    char text [ALERT_SEQ_BYTES];
    memset (text, 0, sizeof (text));
    snprintf (text, sizeof (text), "seq %" PRIu64 "\n", seq);
    if (fd >= 0 && pwrite (fd, text, sizeof (text), 0) == (ssize_t) sizeof (text)) {
        s_failing = false;
        return 0;
    }
    if (fd >= 0 && !s_failing)
        zsys_error ("collector: cannot keep alert #%" PRIu64 " in %s: %s", seq, ALERT_SEQ_FILE,
                    strerror (errno));
    s_failing = fd >= 0;
    return -1;
}
