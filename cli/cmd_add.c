/*  cmd_add.c: `squirrel add` and `squirrel remove`, and `squirrel status
    --api`: the HTTP API of a running hub, from the command line.

    They speak only HTTP (libcurl) to the hub's API, so they work against
    a hub on another host as well (through an SSH tunnel or a reverse
    proxy: the API listens on loopback by default).  Writes carry the
    bearer token read from --token-file (or $SQUIRREL_TOKEN_FILE).
    Exit codes: 0 done, 1 refused or failed (the hub's reason printed),
    2 a usage error.
*/
#include "commands.h"
#include "http_server.h"
#include "sq_json.h"
#include "sq_url.h"

#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <string.h>

#define S_API_DEFAULT       "http://127.0.0.1:8080"
#define S_ANSWER_MAX        (64 << 20)      //  bytes of an answer we keep
#define S_TIMEOUT_S         70              //  the hub may take a minute to apply

static const char s_add_usage [] =
    "usage: squirrel add [OPTIONS] URL\n"
    "\n"
    "Add URL to the sites of a running `squirrel run`, through its HTTP API\n"
    "(POST /api/v1/sites).  The site is checked by the config's rules, kept in\n"
    "the store (it survives restarts and reloads) and checked within its interval.\n"
    "\n"
    "options:\n"
    "  --owner NAME       an owner declared in the hub's config\n"
    "  --interval D       time between checks (10s to 24h; default: the config's)\n"
    "  --api URL          the hub's API (default http://127.0.0.1:8080)\n"
    "  --token-file F     file holding the API token (default $SQUIRREL_TOKEN_FILE)\n"
    "  -h, --help         this text\n";

static const char s_remove_usage [] =
    "usage: squirrel remove [OPTIONS] URL|ID\n"
    "\n"
    "Remove a site added through the API (DELETE /api/v1/sites/ID).  Sites of the\n"
    "config file are the file's: the hub answers so, and nothing changes.\n"
    "\n"
    "options:\n"
    "  --api URL          the hub's API (default http://127.0.0.1:8080)\n"
    "  --token-file F     file holding the API token (default $SQUIRREL_TOKEN_FILE)\n"
    "  -h, --help         this text\n";

//  One HTTP exchange with the API.
typedef struct {
    char *body;                 //  the answer, NUL-terminated
    size_t size;                //  its bytes
    long status;                //  HTTP status, 0 when none came
    char error [CURL_ERROR_SIZE];   //  libcurl's words when no answer came
} exchange_t;

static size_t
s_collect (char *data, size_t size, size_t count, void *arg)
{
    exchange_t *exchange = (exchange_t *) arg;
    size_t bytes = size * count;
    if (exchange->size + bytes > S_ANSWER_MAX)
        return 0;
    char *grown = (char *) realloc (exchange->body, exchange->size + bytes + 1);
    if (!grown)
        return 0;
    memcpy (grown + exchange->size, data, bytes);
    exchange->size += bytes;
    grown [exchange->size] = 0;
    exchange->body = grown;
    return bytes;
}

//  method api+path, with token (or NULL) and body (or NULL).  0 when an
//  answer came (any status), -1 with exchange->error otherwise.
static int
s_exchange (const char *method, const char *api, const char *path, const char *token,
            const char *body, exchange_t *exchange)
{
    memset (exchange, 0, sizeof (*exchange));
    CURL *curl = curl_easy_init ();
    assert (curl);
    char *url = zsys_sprintf ("%s%s", api, path);
    struct curl_slist *headers = curl_slist_append (NULL, "Accept: application/json");
    char *authorization = NULL;
    if (token) {
        authorization = zsys_sprintf ("Authorization: Bearer %s", token);
        headers = curl_slist_append (headers, authorization);
    }
    if (body)
        headers = curl_slist_append (headers, "Content-Type: application/json");
    curl_easy_setopt (curl, CURLOPT_URL, url);
    curl_easy_setopt (curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt (curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt (curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt (curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt (curl, CURLOPT_TIMEOUT, (long) S_TIMEOUT_S);
    curl_easy_setopt (curl, CURLOPT_WRITEFUNCTION, s_collect);
    curl_easy_setopt (curl, CURLOPT_WRITEDATA, exchange);
    curl_easy_setopt (curl, CURLOPT_ERRORBUFFER, exchange->error);
    if (body)
        curl_easy_setopt (curl, CURLOPT_POSTFIELDS, body);
    CURLcode code = curl_easy_perform (curl);
    if (code == CURLE_OK)
        curl_easy_getinfo (curl, CURLINFO_RESPONSE_CODE, &exchange->status);
    else
    if (!exchange->error [0])
        snprintf (exchange->error, sizeof (exchange->error), "%s", curl_easy_strerror (code));
    curl_slist_free_all (headers);
    zstr_free (&authorization);
    zstr_free (&url);
    curl_easy_cleanup (curl);
    return code == CURLE_OK ? 0 : -1;
}

static void
s_exchange_free (exchange_t *exchange)
{
    free (exchange->body);
    exchange->body = NULL;
}

//  The answer's "error" text, or the body itself.
static void
s_print_refusal (const char *command, const exchange_t *exchange)
{
    json_t *root = exchange->body ? json_loads (exchange->body, 0, NULL) : NULL;
    const char *error = json_string_value (json_object_get (root, "error"));
    fprintf (stderr, "squirrel %s: the hub answered %ld: %s\n", command, exchange->status,
             error ? error : exchange->body ? exchange->body : "(no body)");
    if (exchange->status == 401)
        fprintf (stderr, "squirrel %s: give the API token with --token-file FILE (the hub's "
                 "http.token_file)\n", command);
    json_decref (root);
}

//  The token's first line from path (--token-file, else
//  $SQUIRREL_TOKEN_FILE), or NULL with no file.  -1 when it cannot be read.
static int
s_token (const char *command, const char *path, char *token, size_t token_size, bool *have)
{
    *have = false;
    if (!path)
        path = getenv ("SQUIRREL_TOKEN_FILE");
    if (!path)
        return 0;
    if (http_token_read (path, token, token_size)) {
        fprintf (stderr, "squirrel %s: cannot read the token file %s: %s\n", command, path,
                 errno == ENODATA ? "it is empty" : strerror (errno));
        return -1;
    }
    *have = true;
    return 0;
}

//  The API's base URL: http(s), no trailing slash.
static int
s_api_base (const char *command, const char *api, char *base, size_t base_size)
{
    if (strncmp (api, "http://", 7) && strncmp (api, "https://", 8)) {
        fprintf (stderr, "squirrel %s: --api takes an http:// or https:// URL such as %s, "
                 "not '%s'\n", command, S_API_DEFAULT, api);
        return -1;
    }
    snprintf (base, base_size, "%s", api);
    size_t length = strlen (base);
    while (length && base [length - 1] == '/')
        base [--length] = 0;
    return 0;
}

static int
s_unreachable (const char *command, const char *api, const exchange_t *exchange)
{
    fprintf (stderr, "squirrel %s: cannot reach the hub's API at %s: %s (is `squirrel run` "
             "running with an http: section?)\n", command, api, exchange->error);
    return 1;
}

static int
s_add (int argc, char **argv)
{
    static const struct option options [] = {
        { "owner",      required_argument, NULL, 'o' },
        { "interval",   required_argument, NULL, 'i' },
        { "api",        required_argument, NULL, 'a' },
        { "token-file", required_argument, NULL, 't' },
        { "help",       no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *owner = NULL, *interval = NULL, *api = S_API_DEFAULT, *token_file = NULL;
    int option;
    while ((option = getopt_long (argc, argv, "h", options, NULL)) != -1) {
        switch (option) {
            case 'o': owner = optarg; break;
            case 'i':
                if (cli_parse_duration ("add", "interval", optarg) < 0)
                    return EXIT_USAGE;
                interval = optarg;
                break;
            case 'a': api = optarg; break;
            case 't': token_file = optarg; break;
            case 'h': fputs (s_add_usage, stdout); return 0;
            default: return cli_usage_error (&command_add);
        }
    }
    if (optind != argc - 1) {
        fprintf (stderr, "squirrel add: expected one URL, got %d arguments\n", argc - optind);
        return cli_usage_error (&command_add);
    }
    char base [1024], token [HTTP_TOKEN_MAX];
    bool have_token;
    if (s_api_base ("add", api, base, sizeof (base))
    ||  s_token ("add", token_file, token, sizeof (token), &have_token))
        return EXIT_USAGE;
    json_t *site = json_pack ("{s:s}", "url", argv [optind]);
    if (owner)
        json_object_set_new (site, "owner", json_string (owner));
    if (interval)
        json_object_set_new (site, "interval", json_string (interval));
    char *body = json_dumps (site, JSON_COMPACT);
    json_decref (site);
    exchange_t exchange;
    int rc = s_exchange ("POST", base, "/api/v1/sites", have_token ? token : NULL, body,
                         &exchange);
    free (body);
    if (rc)
        return s_unreachable ("add", base, &exchange);
    if (exchange.status != 201) {
        s_print_refusal ("add", &exchange);
        s_exchange_free (&exchange);
        return 1;
    }
    json_t *root = json_loads (exchange.body, 0, NULL);
    printf ("added site %lld: %s\n", (long long) json_integer_value (json_object_get (root, "id")),
            json_string_value (json_object_get (root, "url")) ?: "");
    json_decref (root);
    s_exchange_free (&exchange);
    return 0;
}

//  The id of the site with url, by asking the hub; 0 when it has none.
static long long
s_find (const char *base, const char *url, int *rc)
{
    char *escaped = curl_easy_escape (NULL, url, 0);
    char *path = zsys_sprintf ("/api/v1/sites?url=%s", escaped);
    curl_free (escaped);
    exchange_t exchange;
    *rc = s_exchange ("GET", base, path, NULL, NULL, &exchange);
    zstr_free (&path);
    if (*rc) {
        s_unreachable ("remove", base, &exchange);
        return 0;
    }
    if (exchange.status != 200) {
        s_print_refusal ("remove", &exchange);
        s_exchange_free (&exchange);
        *rc = -1;
        return 0;
    }
    json_t *root = json_loads (exchange.body, 0, NULL);
    json_t *first = json_array_get (json_object_get (root, "sites"), 0);
    long long id = first ? (long long) json_integer_value (json_object_get (first, "id")) : 0;
    json_decref (root);
    s_exchange_free (&exchange);
    return id;
}

static int
s_remove (int argc, char **argv)
{
    static const struct option options [] = {
        { "api",        required_argument, NULL, 'a' },
        { "token-file", required_argument, NULL, 't' },
        { "help",       no_argument,       NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };
    const char *api = S_API_DEFAULT, *token_file = NULL;
    int option;
    while ((option = getopt_long (argc, argv, "h", options, NULL)) != -1) {
        switch (option) {
            case 'a': api = optarg; break;
            case 't': token_file = optarg; break;
            case 'h': fputs (s_remove_usage, stdout); return 0;
            default: return cli_usage_error (&command_remove);
        }
    }
    if (optind != argc - 1) {
        fprintf (stderr, "squirrel remove: expected one URL or site id, got %d arguments\n",
                 argc - optind);
        return cli_usage_error (&command_remove);
    }
    char base [1024], token [HTTP_TOKEN_MAX];
    bool have_token;
    if (s_api_base ("remove", api, base, sizeof (base))
    ||  s_token ("remove", token_file, token, sizeof (token), &have_token))
        return EXIT_USAGE;
    const char *target = argv [optind];
    long long id = 0;
    if (target [0] && strspn (target, "0123456789") == strlen (target))
        id = atoll (target);
    else {
        int rc;
        id = s_find (base, target, &rc);
        if (rc)
            return 1;
        if (!id) {
            fprintf (stderr, "squirrel remove: the hub has no site %s\n", target);
            return 1;
        }
    }
    char *path = zsys_sprintf ("/api/v1/sites/%lld", id);
    exchange_t exchange;
    int rc = s_exchange ("DELETE", base, path, have_token ? token : NULL, NULL, &exchange);
    zstr_free (&path);
    if (rc)
        return s_unreachable ("remove", base, &exchange);
    if (exchange.status != 200) {
        s_print_refusal ("remove", &exchange);
        s_exchange_free (&exchange);
        return 1;
    }
    printf ("removed site %lld\n", id);
    s_exchange_free (&exchange);
    return 0;
}

static void
s_print_percent (json_t *value)
{
    if (json_is_number (value))
        printf (" %7.2f%%", json_number_value (value));
    else
        printf (" %8s", "-");
}

int
cli_status_api (const char *api, bool json)
{
    char base [1024];
    if (s_api_base ("status", api, base, sizeof (base)))
        return EXIT_USAGE;
    exchange_t exchange;
    if (s_exchange ("GET", base, "/api/v1/sites", NULL, NULL, &exchange))
        return s_unreachable ("status", base, &exchange);
    if (exchange.status != 200) {
        s_print_refusal ("status", &exchange);
        s_exchange_free (&exchange);
        return 1;
    }
    json_t *root = json_loads (exchange.body, 0, NULL);
    json_t *sites = json_object_get (root, "sites");
    if (!json_is_array (sites)) {
        fprintf (stderr, "squirrel status: the hub's answer is not a site list\n");
        json_decref (root);
        s_exchange_free (&exchange);
        return 1;
    }
    if (!json)
        printf ("%-11s %8s %8s %8s  %-24s  %-11s  %-6s  %s\n", "STATE", "24H", "7D", "30D",
                "LAST CHECK", "REASON", "SOURCE", "URL");
    size_t index;
    json_t *site;
    json_array_foreach (sites, index, site) {
        if (json) {
            char *line = json_dumps (site, JSON_COMPACT);
            puts (line);
            free (line);
            continue;
        }
        json_t *uptime = json_object_get (site, "uptime");
        printf ("%-11s", json_string_value (json_object_get (site, "state")) ?: "?");
        s_print_percent (json_object_get (uptime, "24h"));
        s_print_percent (json_object_get (uptime, "7d"));
        s_print_percent (json_object_get (uptime, "30d"));
        printf ("  %-24s  %-11s  %-6s  %s\n",
                json_string_value (json_object_get (site, "last_check")) ?: "never",
                json_string_value (json_object_get (site, "last_reason")) ?: "-",
                json_string_value (json_object_get (site, "source")) ?: "?",
                json_string_value (json_object_get (site, "url")) ?: "?");
    }
    json_decref (root);
    s_exchange_free (&exchange);
    return 0;
}

const command_t command_add = {
    "add", "add a site to a running hub through its HTTP API", s_add_usage, s_add
};

const command_t command_remove = {
    "remove", "remove a site added through the HTTP API", s_remove_usage, s_remove
};
