/*  commands.h: the subcommands of `squirrel`, one file each, and the few
    helpers they share.  Each command returns the process exit code:
    0 success, 1 a down site or a run-time failure, 2 a usage or config
    error (EXIT_USAGE).
*/
#ifndef COMMANDS_H_INCLUDED
#define COMMANDS_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "config.h"
#include "topology.h"

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
extern const command_t command_actor;       //  internal: one part of `run`
extern const command_t command_add;
extern const command_t command_remove;

//  `squirrel status --api URL`: the sites as a running hub's API tells
//  them (cmd_add.c).  The exit code.
int cli_status_api (const char *api, bool json);

//  Give the config's sites their ids from the store (made when missing).
//  0, or -1 (logged).  (cmd_run.c)
int cli_assign_ids (config_t *config);

//  The config's sites, as SITE messages, to every actor of topology.  0,
//  or -1 (logged).  (cmd_run.c)
int cli_hand_sites (topology_t *topology, const config_t *config);

//  The topology arguments a config gives (transport, folders, listen,
//  keys, heartbeat, workers.pingers unless args->pingers is set).
//  (cmd_run.c)
void cli_topology_args (topology_args_t *args, const config_t *config);

//  Only the keys that say where pingers come from: listen, keys, heartbeat,
//  workers.pingers (unless args->pingers is set).  (cmd_run.c)
void cli_topology_workers (topology_args_t *args, const config_t *config);

//  SIGHUP: reread current's file; a broken one is refused (logged) and
//  current kept.  Returns the config now in force.  (cmd_run.c)
config_t *cli_reload (config_t *current, topology_t *topology);

//  workers.mode processes: start each actor as a child process
//  (`squirrel actor NAME`), restart one that dies, stop them in order.
//  The exit code.  (supervisor.c)
int cli_supervise (config_t *config, const topology_args_t *args);

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
