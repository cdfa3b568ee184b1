/*  http_server.h: the hub's HTTP server: /api/v1, /metrics and the status
    page at /, over libmicrohttpd.

    It never touches an actor: it reads the store through connections of
    its own (SQLite's WAL lets readers run beside the writer), follows the
    alert feed with a SUB socket of its own (for /api/v1/feed), and sends
    each site change to the hub's main thread over a REQ socket
    (`changes`), which checks it by the config's rules, keeps it in the
    store and hands the new site list to the actors as a reload does.  So
    a slow client, a scrape of 100,000 sites or a stuck browser costs HTTP
    threads, never a check.  docs/ARCHITECTURE.md, "The HTTP server".

    A thread per connection (libmicrohttpd's), at most HTTP_CONNECTIONS_MAX
    at once and HTTP_PER_IP_MAX from one address; request bodies over
    HTTP_BODY_MAX are refused (413) without being kept.
*/
#ifndef HTTP_SERVER_H_INCLUDED
#define HTTP_SERVER_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define HTTP_BODY_MAX           65536   //  bytes in a request body
#define HTTP_CONNECTIONS_MAX    64      //  connections at once
#define HTTP_PER_IP_MAX         32      //  from one address
#define HTTP_CHANGE_WAIT_MS     60000   //  longest wait for the hub to apply a change
#define HTTP_FEED_KEEPALIVE_MS  15000   //  an SSE comment this often when nothing happens
#define HTTP_TOKEN_MAX          512     //  bytes of a token file's first line we read

typedef struct {
    const char *listen;         //  "HOST:PORT", numeric host
    const char *token_file;     //  bearer token for writes (first line), or NULL: writes refused
    const char *data_dir;       //  where the store is
    const char *feed;           //  the alert feed's endpoint (SSE follows it)
    const char *changes;        //  the hub's REP endpoint for site changes, or NULL:
                                //  writes answer 503
    const char *page_title;     //  the status page's title
    const char *const *page_sites;  //  URLs the page shows (normal form); NULL = all
    size_t page_site_count;     //  entries in page_sites
    size_t metrics_sites;       //  /metrics has per-site families up to this many sites
} http_server_args_t;

typedef struct _http_server_t http_server_t;

//  Start serving.  NULL with a reason in error (a bad address, a port in use).
http_server_t *http_server_new (const http_server_args_t *args, char *error, size_t error_size);

//  Stop: no new connection, open feeds end within a second, then wait for
//  the connection threads.  Safe twice; nulls the caller's pointer.
void http_server_destroy (http_server_t **self_p);

//  What the status page shows, after a reload (copied).
void http_server_set_page (http_server_t *self, const char *title,
                           const char *const *sites, size_t site_count);

//  The token in a token file: its first line, without the line end, into
//  token (at most token_size - 1 bytes).  0, or -1 with errno (ENODATA
//  for an empty file) and token "".  The server, the config's check and
//  `squirrel add` read it the same way.
int http_token_read (const char *path, char *token, size_t token_size);

//  The port bound (useful when listen asked for port 0 in tests).
unsigned http_server_port (http_server_t *self);

#ifdef __cplusplus
}
#endif

#endif
