/*  cmd_keygen.c: `squirrel keygen PATH`, a new CURVE key pair for a pinger
    or a watcher: PATH (public key) and PATH_secret (secret key, mode 0600).
    Nothing is overwritten.
*/
#include "commands.h"
#include "sq_keys.h"

#include <getopt.h>
#include <stdio.h>

static const char s_usage [] =
    "usage: squirrel keygen PATH\n"
    "\n"
    "Write a new CURVE key pair for a pinger or a watcher that reaches the hub\n"
    "over tcp://: PATH holds the public key (mode 0644) and PATH_secret the\n"
    "secret key (mode 0600).  Neither file may exist already.\n"
    "\n"
    "Then:\n"
    "  - copy PATH (never PATH_secret) into the hub's keys/allowed/ folder;\n"
    "  - pass --key PATH to `squirrel pinger` or `squirrel watch` on the\n"
    "    machine that keeps PATH_secret, with --server-key naming a copy of\n"
    "    the hub's public key (keys/hub).\n"
    "\n"
    "options:\n"
    "  -h, --help   this text\n";

static int
s_run (int argc, char **argv)
{
    static const struct option options [] = {
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    int option;
    while ((option = getopt_long (argc, argv, "h", options, NULL)) != -1) {
        switch (option) {
            case 'h': fputs (s_usage, stdout); return 0;
            default: return cli_usage_error (&command_keygen);
        }
    }
    if (optind != argc - 1) {
        fprintf (stderr, "squirrel keygen: expected one PATH, got %d arguments\n", argc - optind);
        return cli_usage_error (&command_keygen);
    }
    const char *path = argv [optind];
    char error [1024];
    if (sq_keys_generate (path, error, sizeof (error))) {
        fprintf (stderr, "squirrel keygen: %s\n", error);
        return 1;
    }
    //  Read back what was written: the fingerprint printed is the file's
    zcert_t *cert = sq_keys_load_pair (path, error, sizeof (error));
    if (!cert) {
        fprintf (stderr, "squirrel keygen: %s\n", error);
        return 1;
    }
    char fingerprint [SQ_KEYS_FINGERPRINT_LENGTH + 1];
    sq_keys_fingerprint (zcert_public_txt (cert), fingerprint, sizeof (fingerprint));
    zcert_destroy (&cert);
    printf ("public key:  %s\n"
            "secret key:  %s" SQ_KEYS_SECRET_SUFFIX " (mode 0600: keep it on this machine)\n"
            "fingerprint: %s\n"
            "Copy %s into the hub's keys/allowed/ folder, then pass --key %s to\n"
            "`squirrel pinger` or `squirrel watch`.\n", path, path, fingerprint, path, path);
    return 0;
}

const command_t command_keygen = {
    "keygen", "write a CURVE key pair for a pinger or a watcher", s_usage, s_run
};
