/*  sq_url.c: see sq_url.h. */
#include "sq_url.h"
#include "sq_proto.h"

#include <curl/curl.h>
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
