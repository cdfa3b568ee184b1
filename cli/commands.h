/*  commands.h: the subcommands of `squirrel`, one file each, and the few
    helpers they share.  Each command returns the process exit code:
    0 success, 1 a down site or a run-time failure, 2 a usage or config
    error (EXIT_USAGE).
*/
#ifndef COMMANDS_H_INCLUDED
#define COMMANDS_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#define EXIT_USAGE 2

typedef struct {
    const char *name;           //  subcommand
    const char *summary;        //  one line for `squirrel --help`
    const char *usage;          //  full text for `squirrel NAME --help`
    int (*handler) (int argc, char **argv);
} command_t;

extern const command_t command_run;
extern const command_t command_sweep;
extern const command_t command_watch;
extern const command_t command_status;
extern const command_t command_keygen;
extern const command_t command_pinger;

//  Parse a whole number from 1 to max for option name of command; prints
//  the error and returns -1 if it is not one.
long cli_parse_count (const char *command, const char *name, const char *text, long max);

//  Parse a duration ("500ms", "20s", "5m") for option name; milliseconds,
//  or -1 with the error printed.
long long cli_parse_duration (const char *command, const char *name, const char *text);

//  Print "squirrel COMMAND: see `squirrel COMMAND --help`" and return 2.
int cli_usage_error (const command_t *command);

//  Set by the signal handlers: stop (INT, TERM) and reload (HUP).
extern volatile int cli_stop_requested;
extern volatile int cli_reload_requested;

//  Install SIGINT/SIGTERM (and SIGHUP when reload is true) handlers.
void cli_catch_signals (bool reload);

#endif
