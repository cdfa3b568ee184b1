/*  hub_api.h: the hub's side of the HTTP API's site changes, and the
    config as `run` sees it: the file's sites, then those added through
    the API (kept in the store's api_site table).

    The HTTP server's threads never change a site themselves: each change
    comes to the main thread of `squirrel run` over one REP socket, and is
    applied there as a reload is: the whole site list (file + API, with
    the change) is checked by the config's rules, the change is kept in
    the store, ids are given, and the new list goes to the actors.  A
    change that breaks a rule is answered 400 and changes nothing.
*/
#ifndef HUB_API_H_INCLUDED
#define HUB_API_H_INCLUDED

#include "config.h"
#include "topology.h"

#ifdef __cplusplus
extern "C" {
#endif

//  The config at path with the API's sites from the store in its data_dir.
//  An API site the rules now refuse (its owner left the file, say) is
//  left out with an error in the log, and one whose URL the file lists is
//  left to the file with a warning: neither stops a start or a reload.
//  NULL with error only when the file itself is wrong.
config_t *hub_config_load (const char *path, char *error, size_t error_size);

//  The same from a config already loaded from its file, which this takes:
//  returned as it is when the store has no API sites (the file is parsed
//  again only when it has some).  Never NULL.
config_t *hub_config_with_api (config_t *file);

typedef struct _hub_api_t hub_api_t;

//  Bind the change socket (inproc, unique per process).  Never NULL.
hub_api_t *hub_api_new (void);

//  Unbind.  Safe twice; nulls the caller's pointer.
void hub_api_destroy (hub_api_t **self_p);

//  The endpoint the HTTP server sends changes to (borrowed).
const char *hub_api_endpoint (hub_api_t *self);

//  The socket, to poll (borrowed).
zsock_t *hub_api_socket (hub_api_t *self);

//  Take one change and answer it.  *config is replaced when the change is
//  applied (the old one destroyed).
void hub_api_handle (hub_api_t *self, config_t **config, topology_t *topology);

#ifdef __cplusplus
}
#endif

#endif
