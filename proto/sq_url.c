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

void
sq_url_shown (const char *url, char *out, size_t out_size)
{
    if (!out_size)
        return;
    CURLU *handle = curl_url ();
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *query = NULL;
    char *user = NULL, *password = NULL;
    if (!handle || !url
    ||  curl_url_set (handle, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME)
    ||  curl_url_get (handle, CURLUPART_SCHEME, &scheme, 0)
    ||  curl_url_get (handle, CURLUPART_HOST, &host, 0))
        s_unparseable (out, out_size);
    else {
        curl_url_get (handle, CURLUPART_PORT, &port, 0);
        curl_url_get (handle, CURLUPART_PATH, &path, 0);
        curl_url_get (handle, CURLUPART_QUERY, &query, 0);
        curl_url_get (handle, CURLUPART_USER, &user, 0);
        curl_url_get (handle, CURLUPART_PASSWORD, &password, 0);
        char elided [SQ_URL_MAX + 1] = "";
        if (query)
            s_elide_query (query, elided, sizeof (elided));
        snprintf (out, out_size, "%s://%s%s%s%s%s%s%s", scheme, user || password ? "***@" : "",
                  host, port ? ":" : "", port ? port : "", path ? path : "/",
                  query ? "?" : "", elided);
    }
    curl_free (scheme);
    curl_free (host);
    curl_free (port);
    curl_free (path);
    curl_free (query);
    curl_free (user);
    curl_free (password);
    curl_url_cleanup (handle);
}

void
sq_url_shown_secret (const char *url, char *out, size_t out_size)
{
    if (!out_size)
        return;
    CURLU *handle = curl_url ();
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *query = NULL;
    if (!handle || !url
    ||  curl_url_set (handle, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME)
    ||  curl_url_get (handle, CURLUPART_SCHEME, &scheme, 0)
    ||  curl_url_get (handle, CURLUPART_HOST, &host, 0))
        s_unparseable (out, out_size);
    else {
        curl_url_get (handle, CURLUPART_PORT, &port, 0);
        curl_url_get (handle, CURLUPART_PATH, &path, 0);
        curl_url_get (handle, CURLUPART_QUERY, &query, 0);
        bool hidden = query || (path && strcmp (path, "/") != 0);
        snprintf (out, out_size, "%s://%s%s%s%s", scheme, host, port ? ":" : "", port ? port : "",
                  hidden ? "/***" : "/");
    }
    curl_free (scheme);
    curl_free (host);
    curl_free (port);
    curl_free (path);
    curl_free (query);
    curl_url_cleanup (handle);
}
