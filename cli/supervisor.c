/*  supervisor.c: `squirrel run` with workers: { mode: processes }.

    Every part of the topology is a child process of this one, the same
    binary as `squirrel actor PART CONFIG`: the collector (with the store
    and the feed's helpers), the notifier, the dispatcher, and one process
    per local pinger.  They meet over ipc:// sockets in data_dir.  This
    process only starts them, restarts one that dies, passes SIGHUP on,
    and stops them in order.

    A child that dies (any exit while we are not stopping) is started
    again after a backoff: 1 s, doubled at each death up to 30 s, back to
    1 s once a child has lived a minute.  Each death is logged with its
    exit status or signal.  Nothing is lost by it: results a pinger sent
    wait in its socket until the collector is back; a dispatcher started
    again sends every site's next check anew (late results of the old
    one are taken once, their DONE counted stale); a collector started
    again restores each site's state from the store, so no alert is
    raised twice.

    Stop order (SIGINT, SIGTERM): pingers, then the collector (it drains
    what is queued and the store commits), then the notifier, then the
    dispatcher; each gets SUPERVISOR_STOP_MS before SIGKILL.
*/
#include "commands.h"
#include "hub_api.h"
#include "service.h"
#include "sq_keys.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define SUPERVISOR_BACKOFF_MS       1000    //  first restart delay
#define SUPERVISOR_BACKOFF_MAX_MS   30000   //  longest restart delay
#define SUPERVISOR_STABLE_MS        60000   //  a child this old has its backoff reset
#define SUPERVISOR_STOP_MS          30000   //  wait for a child after SIGTERM

typedef struct {
    const char *part;           //  collector, notifier, dispatcher or pinger
    unsigned index;             //  pinger number, from 1; 0 for the others
    pid_t pid;                  //  running child, or 0
    int64_t started;            //  mono ms it was started
    int64_t restart_at;         //  mono ms of its next start while pid is 0
    int64_t backoff_ms;         //  delay before the next restart
} child_t;

typedef struct {
    child_t *children;          //  in start order
    size_t count;               //  entries in children
    const char *config_path;    //  the config every child loads
    const topology_args_t *args;    //  the command line's settings
} supervisor_t;

static void
s_start (supervisor_t *self, child_t *child)
{
    char concurrency [16] = "";
    if (self->args->concurrency)
        snprintf (concurrency, sizeof (concurrency), "%u", self->args->concurrency);
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid < 0) {
        zsys_error ("squirrel run: cannot start %s: %s; trying again", child->part, strerror (errno));
        child->restart_at = zclock_mono () + child->backoff_ms;
        return;
    }
    if (pid == 0) {
        //  A child must not outlive the supervisor (kill -9 included): the
        //  data_dir lock goes with the supervisor, and a new `run` would
        //  start a second set of actors beside the orphans.
        if (prctl (PR_SET_PDEATHSIG, SIGTERM) || getppid () != parent)
            _exit (127);
        const char *argv [10];
        int count = 0;
        argv [count++] = "squirrel";
        argv [count++] = "actor";
        argv [count++] = child->part;
        if (*concurrency) {
            argv [count++] = "--concurrency";
            argv [count++] = concurrency;
        }
        if (self->args->ca_file) {
            argv [count++] = "--ca-file";
            argv [count++] = self->args->ca_file;
        }
        argv [count++] = self->config_path;
        argv [count] = NULL;
        execv ("/proc/self/exe", (char **) argv);
        _exit (127);
    }
    child->pid = pid;
    child->started = zclock_mono ();
    zsys_info ("squirrel run: started %s%.0u (pid %d)", child->part, child->index, (int) pid);
}

//  A child ended: log why and, unless we are stopping, plan its restart.
static void
s_ended (supervisor_t *self, child_t *child, int status, bool stopping)
{
    char why [64];
    if (WIFSIGNALED (status))
        snprintf (why, sizeof (why), "was killed by signal %d", WTERMSIG (status));
    else
        snprintf (why, sizeof (why), "exited with status %d", WEXITSTATUS (status));
    int64_t now = zclock_mono ();
    pid_t pid = child->pid;
    child->pid = 0;
    if (stopping) {
        zsys_info ("squirrel run: %s%.0u %s", child->part, child->index, why);
        return;
    }
    if (now - child->started >= SUPERVISOR_STABLE_MS)
        child->backoff_ms = SUPERVISOR_BACKOFF_MS;
    child->restart_at = now + child->backoff_ms;
    zsys_warning ("squirrel run: %s%.0u (pid %d) %s; restarting it in %lld ms", child->part,
                  child->index, (int) pid, why, (long long) child->backoff_ms);
    child->backoff_ms *= 2;
    if (child->backoff_ms > SUPERVISOR_BACKOFF_MAX_MS)
        child->backoff_ms = SUPERVISOR_BACKOFF_MAX_MS;
}

static child_t *
s_child_of (supervisor_t *self, pid_t pid)
{
    for (size_t index = 0; index < self->count; index++)
        if (self->children [index].pid == pid)
            return &self->children [index];
    return NULL;
}

//  Reap every child that ended.
static void
s_reap (supervisor_t *self, bool stopping)
{
    int status;
    pid_t pid;
    while ((pid = waitpid (-1, &status, WNOHANG)) > 0) {
        child_t *child = s_child_of (self, pid);
        if (child)
            s_ended (self, child, status, stopping);
    }
}

//  Stop every child of part, in turn: SIGTERM, then SIGKILL past the wait.
static void
s_stop_part (supervisor_t *self, const char *part)
{
    for (size_t index = 0; index < self->count; index++) {
        child_t *child = &self->children [index];
        if (streq (child->part, part) && child->pid)
            kill (child->pid, SIGTERM);
    }
    int64_t deadline = zclock_mono () + SUPERVISOR_STOP_MS;
    for (size_t index = 0; index < self->count; index++) {
        child_t *child = &self->children [index];
        if (!streq (child->part, part))
            continue;
        while (child->pid && zclock_mono () < deadline) {
            s_reap (self, true);
            if (child->pid)
                zclock_sleep (20);
        }
        if (child->pid) {
            zsys_error ("squirrel run: %s%.0u did not stop in %d s: killed", child->part,
                        child->index, SUPERVISOR_STOP_MS / 1000);
            kill (child->pid, SIGKILL);
            int status;
            waitpid (child->pid, &status, 0);
            child->pid = 0;
        }
    }
}

int
cli_supervise (config_t *config, const topology_args_t *args)
{
    unsigned pingers = topology_pinger_count (args);
    supervisor_t self = { .config_path = config->path, .args = args };
    self.count = 3 + pingers;
    self.children = (child_t *) calloc (self.count, sizeof (child_t));
    assert (self.children);
    const char *parts [] = { "collector", "notifier", "dispatcher" };
    for (size_t index = 0; index < self.count; index++) {
        child_t *child = &self.children [index];
        child->part = index < 3 ? parts [index] : "pinger";
        child->index = index < 3 ? 0 : (unsigned) (index - 2);
        child->backoff_ms = SUPERVISOR_BACKOFF_MS;
    }
    //  The hub's key pair before any child: the collector and the
    //  dispatcher both need it, and two processes creating it at once
    //  could each write half of it.
    if (config->listen) {
        char error [256];
        zcert_t *hub = sq_keys_hub (config->keys, error, sizeof (error));
        if (!hub) {
            zsys_error ("squirrel run: %s", error);
            free (self.children);
            return 1;
        }
        zcert_destroy (&hub);
    }
    //  The same for the key that marks jobs: the dispatcher and the
    //  collector, two processes, must read one key.
    if (config->data_dir) {
        char error [256];
        sq_job_key_t key;
        if (sq_job_key_load (config->data_dir, &key, error, sizeof (error))) {
            zsys_error ("squirrel run: %s", error);
            free (self.children);
            return 1;
        }
    }
    //  `run` gave the sites their store ids already: every child finds them.
    for (size_t index = 0; index < self.count; index++)
        s_start (&self, &self.children [index]);
    zsys_info ("squirrel run: monitoring %zu sites from %s with %zu processes; alerts on %s; "
               "store in %s", config->site_count, config->path, self.count, config->feed,
               config->data_dir);
    //  Ready once every child is started (not once each has bound its
    //  sockets: ZeroMQ connects in any order, so none waits on another).
    char status [128];
    snprintf (status, sizeof (status), "monitoring %zu sites with %zu processes",
              config->site_count, self.count);
    service_ready (status);
    while (!cli_stop_requested) {
        zclock_sleep (100);
        s_reap (&self, false);
        int64_t now = zclock_mono ();
        for (size_t index = 0; index < self.count && !cli_stop_requested; index++) {
            child_t *child = &self.children [index];
            if (!child->pid && child->restart_at && now >= child->restart_at) {
                child->restart_at = 0;
                s_start (&self, child);
            }
        }
        if (cli_reload_requested) {
            cli_reload_requested = 0;
            service_reloading ();
            snprintf (status, sizeof (status), "running %zu processes; reload refused (see the "
                      "log)", self.count);
            char error [1024];
            config_t *fresh = hub_config_load (config->path, error, sizeof (error));
            if (!fresh)
                zsys_error ("squirrel run: reload refused, keeping the running config: %s", error);
            else {
                //  Ids first, then each part rereads the file itself.
                if (cli_assign_ids (fresh) == 0) {
                    for (size_t index = 0; index < 3; index++)
                        if (self.children [index].pid)
                            kill (self.children [index].pid, SIGHUP);
                    zsys_info ("squirrel run: reloaded %s: %zu sites", fresh->path,
                               fresh->site_count);
                    snprintf (status, sizeof (status), "monitoring %zu sites with %zu processes",
                              fresh->site_count, self.count);
                }
                config_destroy (&fresh);
            }
            service_ready (status);
        }
    }
    zsys_info ("squirrel run: stopping");
    service_stopping ();
    const char *order [] = { "pinger", "collector", "notifier", "dispatcher" };
    for (size_t index = 0; index < 4; index++)
        s_stop_part (&self, order [index]);
    zsys_info ("squirrel run: stopped");
    free (self.children);
    return 0;
}
