/*  config_http.c: the rules of the http and status_page sections.

        http: { listen      HOST:PORT, HOST a numeric IPv4 address or an IPv6
                            one in brackets, PORT 1 to 65535; default
                            127.0.0.1:8080 (loopback: any other address must
                            be written out)
                token_file  a file only its owner can read (mode 600) holding
                            the bearer token every write must carry, at least
                            16 characters on its first line; without it every
                            write is refused
                metrics_sites  0 to 1,000,000: /metrics has its per-site
                            families (up, state, certificate) while there are
                            at most this many sites, else only the counts by
                            state (a page of 1,000,000 sites' series was 514 MB);
                            default 10,000 }
        status_page: { title  text, at most 200 bytes; default "Status"
                       sites  list of http(s) URLs, in normal form: the sites
                              the page at / shows; absent = every site }

    An empty `http:` turns the server on with the defaults.
*/
#include "config_private.h"
#include "http_server.h"
#include "sq_url.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_DEFAULT_LISTEN    "127.0.0.1:8080"
#define S_DEFAULT_TITLE     "Status"
#define S_TITLE_MAX         200
#define S_TOKEN_MIN         16
#define S_LISTEN_MAX        64
#define S_METRICS_SITES     10000
#define S_METRICS_SITES_MAX 1000000

static const char *s_http_keys [] = { "listen", "token_file", "metrics_sites" };
static const char *s_page_keys [] = { "title", "sites" };
#define KEYS_COUNT(keys) (sizeof (keys) / sizeof (keys [0]))

//  "HOST:PORT" with a numeric host (no name lookup at start, and no doubt
//  about which address is bound) and a port 1 to 65535.
static bool
s_listen_valid (const char *text)
{
    if (strlen (text) > S_LISTEN_MAX)
        return false;
    char host [S_LISTEN_MAX + 1];
    const char *colon = strrchr (text, ':');
    if (!colon || colon == text)
        return false;
    size_t host_length = (size_t) (colon - text);
    memcpy (host, text, host_length);
    host [host_length] = 0;
    if (host [0] == '[') {
        if (host_length < 3 || host [host_length - 1] != ']')
            return false;
        memmove (host, host + 1, host_length - 2);
        host [host_length - 2] = 0;
    }
    char *end = NULL;
    errno = 0;
    long port = strtol (colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || port < 1 || port > 65535)
        return false;
    struct addrinfo hints = { .ai_flags = AI_NUMERICHOST, .ai_socktype = SOCK_STREAM };
    struct addrinfo *found = NULL;
    if (getaddrinfo (host, NULL, &hints, &found))
        return false;
    freeaddrinfo (found);
    return true;
}

//  The token file's first line must be a token worth the name.
static int
s_token_check (loader_t *loader, const node_t *node, const char *path)
{
    char line [HTTP_TOKEN_MAX];
    if (http_token_read (path, line, sizeof (line)))
        return config_expected (loader, node, "token_file",
                                "a file whose first line is the API token, got an empty file");
    if (strlen (line) < S_TOKEN_MIN) {
        char what [128];
        snprintf (what, sizeof (what),
                  "a token of at least %d characters on the first line of the file", S_TOKEN_MIN);
        return config_expected (loader, node, "token_file", what);
    }
    return 0;
}

int
config_http_parse (loader_t *loader, const node_t *value)
{
    config_t *config = loader->config;
    config_replace (&config->http_listen, S_DEFAULT_LISTEN);
    config->http_metrics_sites = S_METRICS_SITES;
    if (config_node_is_null (value))
        return 0;
    if (value->kind != NODE_MAPPING)
        return config_expected (loader, value, "http",
                                "a mapping such as '{ listen: 127.0.0.1:8080, token_file: "
                                "/etc/squirrel/api.token }'");
    for (size_t pair = 0; pair < value->count / 2; pair++) {
        int key = config_key_check (loader, value, pair, "in http", s_http_keys,
                                    KEYS_COUNT (s_http_keys));
        const node_t *item = value->children [pair * 2 + 1];
        if (key < 0)
            return -1;
        if (key == 0) {
            const char *what = "HOST:PORT with a numeric host, such as 127.0.0.1:8080 or "
                               "[::1]:8080";
            const char *listen = config_text (loader, item, "listen", what);
            if (!listen)
                return -1;
            if (!s_listen_valid (listen))
                return config_expected (loader, item, "listen", what);
            config_replace (&config->http_listen, listen);
        }
        else
        if (key == 1) {
            if (config_readable_file (loader, item, "token_file", true, &config->http_token_file)
            ||  s_token_check (loader, item, config->http_token_file))
                return -1;
        }
        else
        if (config_whole (loader, item, "metrics_sites", 0, S_METRICS_SITES_MAX,
                          &config->http_metrics_sites))
            return -1;
    }
    return 0;
}

int
config_status_page_parse (loader_t *loader, const node_t *value)
{
    config_t *config = loader->config;
    if (config_node_is_null (value))
        return 0;
    if (value->kind != NODE_MAPPING)
        return config_expected (loader, value, "status_page",
                                "a mapping such as '{ title: Our services, sites: "
                                "[https://example.com/] }'");
    for (size_t pair = 0; pair < value->count / 2; pair++) {
        int key = config_key_check (loader, value, pair, "in status_page", s_page_keys,
                                    KEYS_COUNT (s_page_keys));
        const node_t *item = value->children [pair * 2 + 1];
        if (key < 0)
            return -1;
        if (key == 0) {
            const char *title = config_text (loader, item, "title", "a title");
            if (!title)
                return -1;
            if (strlen (title) > S_TITLE_MAX)
                return config_expected (loader, item, "title", "at most 200 bytes");
            config_replace (&config->page_title, title);
            continue;
        }
        if (item->kind != NODE_LIST)
            return config_expected (loader, item, "sites",
                                    "a list of site URLs such as [https://example.com/]");
        for (size_t index = 0; index < config->page_site_count; index++)
            free (config->page_sites [index]);
        free (config->page_sites);
        config->page_sites = (char **) calloc (item->count + 1, sizeof (char *));
        assert (config->page_sites);
        config->page_site_count = 0;
        for (size_t index = 0; index < item->count; index++) {
            const char *url = config_url (loader, item->children [index], "sites");
            if (!url)
                return -1;
            config->page_sites [config->page_site_count++] = strdup (url);
        }
    }
    return 0;
}

void
config_http_free (config_t *config)
{
    free (config->http_listen);
    free (config->http_token_file);
    free (config->page_title);
    for (size_t index = 0; index < config->page_site_count; index++)
        free (config->page_sites [index]);
    free (config->page_sites);
    config->http_listen = config->http_token_file = config->page_title = NULL;
    config->page_sites = NULL;
    config->page_site_count = 0;
}
