/*  sq_url.c: see sq_url.h. */
#include "sq_url.h"
#include "sq_proto.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

int
sq_url_check (const char *url, char *why, size_t why_size)
{
    if (!url || !*url) {
        snprintf (why, why_size, "empty URL");
        return -1;
    }
    size_t length = strnlen (url, SQ_URL_MAX + 1);
    if (length > SQ_URL_MAX) {
        snprintf (why, why_size, "URL longer than %d bytes", SQ_URL_MAX);
        return -1;
    }
    //  Ask for the scheme before parsing: curl would guess "http" for a
    //  bare host name, and we want the user to say what they mean.
    const char *colon = strstr (url, "://");
    if (!colon) {
        snprintf (why, why_size, "'%s' has no scheme: write http:// or https://", url);
        return -1;
    }
    if (!((colon - url == 4 && strncasecmp (url, "http", 4) == 0)
       || (colon - url == 5 && strncasecmp (url, "https", 5) == 0))) {
        snprintf (why, why_size, "scheme '%.*s' is not monitored: only http and https",
                  (int) (colon - url), url);
        return -1;
    }
    CURLU *handle = curl_url ();
    if (!handle) {
        snprintf (why, why_size, "out of memory");
        return -1;
    }
    int rc = 0;
    char *host = NULL;
    CURLUcode code = curl_url_set (handle, CURLUPART_URL, url, 0);
    if (code != CURLUE_OK) {
        snprintf (why, why_size, "'%s' is not a valid URL: %s", url, curl_url_strerror (code));
        rc = -1;
    }
    else
    if (curl_url_get (handle, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !*host) {
        snprintf (why, why_size, "'%s' has no host", url);
        rc = -1;
    }
    curl_free (host);
    curl_url_cleanup (handle);
    return rc;
}


//  --------------------------------------------------------------------------
//  Showing URLs without their secrets

static void
s_unparseable (char *out, size_t out_size)
{
    snprintf (out, out_size, "(unparseable URL)");
}

//  "a=1&b=2" -> "a=***&b=***"; a part without '=' may be a token itself
//  ("?SECRET"): "***".
static void
s_elide_query (const char *query, char *out, size_t out_size)
{
    size_t used = 0;
    out [0] = '\0';
    const char *part = query;
    while (*part && used + 1 < out_size) {
        const char *end = strchr (part, '&');
        size_t length = end ? (size_t) (end - part) : strlen (part);
        const char *equals = memchr (part, '=', length);
        int written = equals
            ? snprintf (out + used, out_size - used, "%s%.*s=***", used ? "&" : "",
                        (int) (equals - part), part)
            : snprintf (out + used, out_size - used, "%s***", used ? "&" : "");
        if (written < 0 || (size_t) written >= out_size - used)
            break;
        used += (size_t) written;
        part = end ? end + 1 : part + length;
    }
}

//  The parts of a URL libcurl parsed, each NULL when absent.
typedef struct {
    char *scheme, *host, *port, *path, *query, *user, *password;
} s_parts_t;

//  Parse url into parts; false when libcurl cannot (or there is no host).
static bool
s_parts_get (const char *url, s_parts_t *parts)
{
    memset (parts, 0, sizeof (*parts));
    CURLU *handle = curl_url ();
    bool ok = handle && url
           && curl_url_set (handle, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK
           && curl_url_get (handle, CURLUPART_SCHEME, &parts->scheme, 0) == CURLUE_OK
           && curl_url_get (handle, CURLUPART_HOST, &parts->host, 0) == CURLUE_OK;
    if (ok) {
        curl_url_get (handle, CURLUPART_PORT, &parts->port, 0);
        curl_url_get (handle, CURLUPART_PATH, &parts->path, 0);
        curl_url_get (handle, CURLUPART_QUERY, &parts->query, 0);
        curl_url_get (handle, CURLUPART_USER, &parts->user, 0);
        curl_url_get (handle, CURLUPART_PASSWORD, &parts->password, 0);
    }
    curl_url_cleanup (handle);
    return ok;
}

static void
s_parts_free (s_parts_t *parts)
{
    char **all [] = { &parts->scheme, &parts->host, &parts->port, &parts->path, &parts->query,
                      &parts->user, &parts->password };
    for (size_t index = 0; index < sizeof (all) / sizeof (all [0]); index++) {
        curl_free (*all [index]);
        *all [index] = NULL;
    }
}

void
sq_url_shown (const char *url, char *out, size_t out_size)
{
    if (!out_size)
        return;
    s_parts_t parts;
    if (!s_parts_get (url, &parts))
        s_unparseable (out, out_size);
    else {
        char elided [SQ_URL_MAX + 1] = "";
        if (parts.query)
            s_elide_query (parts.query, elided, sizeof (elided));
        snprintf (out, out_size, "%s://%s%s%s%s%s%s%s", parts.scheme,
                  parts.user || parts.password ? "***@" : "", parts.host, parts.port ? ":" : "",
                  parts.port ? parts.port : "", parts.path ? parts.path : "/",
                  parts.query ? "?" : "", elided);
    }
    s_parts_free (&parts);
}

void
sq_url_shown_secret (const char *url, char *out, size_t out_size)
{
    if (!out_size)
        return;
    s_parts_t parts;
    if (!s_parts_get (url, &parts))
        s_unparseable (out, out_size);
    else {
        bool hidden = parts.query || (parts.path && strcmp (parts.path, "/") != 0);
        snprintf (out, out_size, "%s://%s%s%s%s", parts.scheme, parts.host, parts.port ? ":" : "",
                  parts.port ? parts.port : "", hidden ? "/***" : "/");
    }
    s_parts_free (&parts);
}
