/*  service.c: readiness, reload and stop notices for systemd (service.h).

    Kept to sd_notify and nothing else: no watchdog (a hung actor is found
    by its own heartbeats, not by the main thread's), no file descriptor
    store.  The status text goes on one line: a newline in it would start
    another field of the notice.
*/
#include "service.h"

#include <czmq.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

//  Send text (one or more NAME=VALUE lines); log when it fails.
static void
s_notify (const char *text)
{
    int rc = sd_notify (0, text);
    if (rc < 0)
        zsys_warning ("service: cannot notify the service manager (%s): %s", text,
                      strerror (-rc));
}

//  STATUS=text, cut at the first line break, appended to buffer.
static void
s_status_line (char *buffer, size_t size, const char *text)
{
    size_t used = strlen (buffer);
    if (text && used < size)
        snprintf (buffer + used, size - used, "STATUS=%.*s", (int) strcspn (text, "\r\n"), text);
}

void
service_ready (const char *status)
{
    char text [512] = "READY=1\n";
    s_status_line (text, sizeof (text), status);
    s_notify (text);
}

void
service_reloading (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    char text [128];
    snprintf (text, sizeof (text), "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading",
              (unsigned long long) now.tv_sec * 1000000ULL
              + (unsigned long long) now.tv_nsec / 1000ULL);
    s_notify (text);
}

void
service_stopping (void)
{
    s_notify ("STOPPING=1\nSTATUS=stopping");
}
