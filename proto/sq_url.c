/*  sq_url.c: see sq_url.h. */
#include "sq_url.h"
#include "sq_proto.h"

#include <assert.h>
#include <curl/curl.h>
#include <locale.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <ctype.h>
#include <string.h>
#include <strings.h>

//  url as a message may quote it: as written when it has neither '@' nor
//  '?'; else the shown form when libcurl parses it, else the text with any user name and password ("scheme://USER:PASS@")
//  and any query replaced by "***", so that an error about a URL never
//  prints the secret in it.  Returns out.
const char *
sq_url_quoted (const char *url, char *out, size_t out_size)
{
    //  Nothing secret can hide without a user part or a query: as written.
    if (!strchr (url, '@') && !strchr (url, '?')) {
        snprintf (out, out_size, "%s", url);
        return out;
    }
    sq_url_shown (url, out, out_size);
    if (strcmp (out, "(unparseable URL)") != 0)
        return out;
    const char *start = strstr (url, "://");
    start = start ? start + 3 : NULL;     //  no authority, no user part
    size_t authority = start ? strcspn (start, "/?#") : 0;
    const char *at = start ? memchr (start, '@', authority) : NULL;
    const char *query = strpbrk (start ? start : url, "?#");
    int head = start ? (int) (start - url) : 0;
    if (at)
        snprintf (out, out_size, "%.*s***%.*s%s", head, url,
                  (int) ((query ? query : at + strlen (at)) - at), at,
                  query ? "?***" : "");
    else
        snprintf (out, out_size, "%.*s%s", (int) ((query ? query : url + strlen (url)) - url),
                  url, query ? "?***" : "");
    return out;
}

//  url checked and parsed: the handle (the caller's), or NULL with why.
static CURLU *
s_url_parse (const char *url, char *why, size_t why_size)
{
    char quoted [SQ_URL_MAX + 1];
    if (!url || !*url) {
        snprintf (why, why_size, "empty URL");
        return NULL;
    }
    size_t length = strnlen (url, SQ_URL_MAX + 1);
    if (length > SQ_URL_MAX) {
        snprintf (why, why_size, "URL longer than %d bytes", SQ_URL_MAX);
        return NULL;
    }
    //  Ask for the scheme before parsing: curl would guess "http" for a
    //  bare host name, and we want the user to say what they mean.
    const char *colon = strstr (url, "://");
    if (!colon) {
        snprintf (why, why_size, "'%s' has no scheme: write http:// or https://",
                  sq_url_quoted (url, quoted, sizeof (quoted)));
        return NULL;
    }
    if (!((colon - url == 4 && strncasecmp (url, "http", 4) == 0)
       || (colon - url == 5 && strncasecmp (url, "https", 5) == 0))) {
        snprintf (why, why_size, "scheme '%.*s' is not monitored: only http and https",
                  (int) (colon - url), url);
        return NULL;
    }
    CURLU *handle = curl_url ();
    if (!handle) {
        snprintf (why, why_size, "out of memory");
        return NULL;
    }
    char *host = NULL;
    CURLUcode code = curl_url_set (handle, CURLUPART_URL, url, 0);
    if (code != CURLUE_OK) {
        snprintf (why, why_size, "'%s' is not a valid URL: %s",
                  sq_url_quoted (url, quoted, sizeof (quoted)), curl_url_strerror (code));
        curl_url_cleanup (handle);
        handle = NULL;
    }
    else
    if (curl_url_get (handle, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !*host) {
        snprintf (why, why_size, "'%s' has no host", sq_url_quoted (url, quoted, sizeof (quoted)));
        curl_url_cleanup (handle);
        handle = NULL;
    }
    curl_free (host);
    return handle;
}

int
sq_url_check (const char *url, char *why, size_t why_size)
{
    CURLU *handle = s_url_parse (url, why, why_size);
    curl_url_cleanup (handle);
    return handle ? 0 : -1;
}


//  --------------------------------------------------------------------------
//  The normal form
//
//  Two spellings are one site when libcurl would send the same request
//  for both to the same place.  So the normal form is libcurl's own
//  reading of the URL (curl_url_get of CURLUPART_URL), which already
//  lowers the scheme's case, drops an empty port or query and removes dot
//  segments as the request would, plus what it leaves alone:
//    - the host's case: DNS names are case-insensitive (RFC 4343), and so
//      are IPv6 hex digits;
//    - an international host: its punycode form, the name DNS is asked
//      for, so "bücher" and "xn--bcher-kva" are one site;
//    - the default port (CURLU_NO_DEFAULT_PORT): ":80" on http is no port;
//    - the fragment: never sent.
//  Not changed, because they can name another resource or another place:
//    - the path's case, and "//" in it: RFC 3986 compares paths byte by
//      byte, and servers differ ("/a//b" is another object on S3 and on
//      many static file servers, a redirect on others).  Collapsing them
//      would merge sites a user may mean to watch apart;
//    - percent-encoding ("%7e" against "~"): libcurl sends either as
//      written, and a server may not decode them alike;
//    - a trailing dot on the host ("example.com."): an absolute name, not
//      looked up through the resolver's search list, and another TLS name;
//    - the user and password: another login is another check.

//  The ASCII form of an international host.  libcurl converts it with
//  libidn2's idn2_lookup_ul, which reads the name in the codeset of
//  LC_CTYPE: under the C locale (every program's until it calls setlocale)
//  that is ASCII and every such name fails, which libcurl reports as "out
//  of memory"; under a Latin-1 locale the UTF-8 bytes of a config would be
//  misread as another name.  A config is UTF-8 whatever the user's locale,
//  so the conversion runs under C.UTF-8 for this thread only (uselocale):
//  the same on every system and in every process, and no race with other
//  threads as setlocale would be.  *ascii is the caller's to curl_free.
//
//  The locale is made once and kept for the process's life: newlocale
//  takes about 250 us, twenty times the conversion itself.
static locale_t s_utf8 = (locale_t) 0;
static pthread_once_t s_utf8_once = PTHREAD_ONCE_INIT;

static void
s_utf8_open (void)
{
    s_utf8 = newlocale (LC_CTYPE_MASK, "C.UTF-8", (locale_t) 0);
}

static int
s_host_ascii (CURLU *handle, const char *url, char **ascii, char *why, size_t why_size)
{
    char quoted [SQ_URL_MAX + 1];
    pthread_once (&s_utf8_once, s_utf8_open);
    if (!s_utf8) {
        snprintf (why, why_size, "'%s' has an international host name, and this system has "
                  "no C.UTF-8 locale to convert it with",
                  sq_url_quoted (url, quoted, sizeof (quoted)));
        return -1;
    }
    locale_t before = uselocale (s_utf8);
    CURLUcode code = curl_url_get (handle, CURLUPART_HOST, ascii, CURLU_PUNYCODE);
    uselocale (before);
    if (code != CURLUE_OK) {
        //  libcurl 7.88 may leave the name it could not convert in *ascii.
        curl_free (*ascii);
        *ascii = NULL;
        snprintf (why, why_size,
                  "'%s' has a host that is not a valid international domain name",
                  sq_url_quoted (url, quoted, sizeof (quoted)));
        return -1;
    }
    return 0;
}

//  Set the host libcurl parsed in handle to its normal form: ASCII (see
//  s_host_ascii), in lower case.
static int
s_host_normalise (CURLU *handle, const char *url, char *why, size_t why_size)
{
    char quoted [SQ_URL_MAX + 1];
    char *host = NULL, *zone = NULL;
    if (curl_url_get (handle, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        snprintf (why, why_size, "'%s' has no host", sq_url_quoted (url, quoted, sizeof (quoted)));
        return -1;
    }
    bool international = false;
    for (const char *at = host; *at; at++)
        international = international || (unsigned char) *at >= 0x80;
    if (international) {
        curl_free (host);
        host = NULL;
        if (s_host_ascii (handle, url, &host, why, why_size))
            return -1;
    }
    bool changed = international;
    for (char *at = host; *at; at++)
        if (*at >= 'A' && *at <= 'Z') {
            *at = (char) (*at - 'A' + 'a');
            changed = true;
        }
    int rc = 0;
    if (changed) {
        //  Setting the host drops an IPv6 zone ("%25eth0"): put it back,
        //  as it was (an interface name's case counts).
        curl_url_get (handle, CURLUPART_ZONEID, &zone, 0);
        if (curl_url_set (handle, CURLUPART_HOST, host, 0) != CURLUE_OK
        ||  (zone && curl_url_set (handle, CURLUPART_ZONEID, zone, 0) != CURLUE_OK)) {
            snprintf (why, why_size, "'%s' has a host libcurl cannot take back as '%s'",
                      sq_url_quoted (url, quoted, sizeof (quoted)), host);
            rc = -1;
        }
    }
    curl_free (zone);
    curl_free (host);
    return rc;
}

int
sq_url_normalise (const char *url, char *out, size_t out_size, char *why, size_t why_size)
{
    char quoted [SQ_URL_MAX + 1];
    assert (out && out_size > SQ_URL_MAX);
    out [0] = '\0';
    CURLU *handle = s_url_parse (url, why, why_size);
    if (!handle)
        return -1;
    int rc = -1;
    char *normal = NULL;
    if (s_host_normalise (handle, url, why, why_size) == 0) {
        if (curl_url_set (handle, CURLUPART_FRAGMENT, NULL, 0) != CURLUE_OK
        ||  curl_url_get (handle, CURLUPART_URL, &normal, CURLU_NO_DEFAULT_PORT) != CURLUE_OK)
            snprintf (why, why_size, "'%s' cannot be put in normal form",
                      sq_url_quoted (url, quoted, sizeof (quoted)));
        else
        if (strlen (normal) > SQ_URL_MAX)
            snprintf (why, why_size, "URL longer than %d bytes once normalised ('%.60s...')",
                      SQ_URL_MAX, normal);
        else {
            snprintf (out, out_size, "%s", normal);
            rc = 0;
        }
    }
    curl_free (normal);
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

//  Whether a query parameter's name says its value is a secret
//  ("token", "api_key", "X-Amz-Signature", "password", ...).
static bool
s_secret_name (const char *name, size_t length)
{
    static const char *const marks [] = {
        "token", "key", "secret", "pass", "pwd", "auth", "sig", "session", "credential", "jwt"
    };
    char lower [64];
    if (length >= sizeof (lower))
        return true;            //  a name this long is not one we can judge
    for (size_t index = 0; index < length; index++)
        lower [index] = (char) tolower ((unsigned char) name [index]);
    lower [length] = '\0';
    for (size_t mark = 0; mark < sizeof (marks) / sizeof (marks [0]); mark++)
        if (strstr (lower, marks [mark]))
            return true;
    return false;
}

//  The values of secret parameters elided: "site=3&token=abc" ->
//  "site=3&token=***".  A part without '=' ("?SECRET") is elided when it
//  is 16 bytes or more (a bare token); a short one ("?health") is kept.
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
        bool hide = equals ? s_secret_name (part, (size_t) (equals - part)) : length >= 16;
        int written = !hide
            ? snprintf (out + used, out_size - used, "%s%.*s", used ? "&" : "", (int) length, part)
            : equals
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

//  Whether [start, end) is an IPv4 address as libcurl writes one: four
//  decimal numbers 0 to 255 without leading zeros.
static bool
s_dotted_quad (const char *start, const char *end)
{
    int parts = 0;
    const char *at = start;
    while (at < end) {
        const char *digits = at;
        int value = 0;
        while (at < end && isdigit ((unsigned char) *at) && at - digits < 3)
            value = value * 10 + (*at++ - '0');
        if (at == digits || value > 255 || (at - digits > 1 && *digits == '0'))
            return false;
        parts++;
        if (at < end && (*at != '.' || ++at == end))
            return false;
    }
    return parts == 4;
}

//  Whether url is already as sq_url_shown would write it, so that no parse
//  is needed (the normal form of most sites: a collector shows every site
//  of a list, and parsing each was 5 % of a 100,000-site start): lower-case
//  http or https, printable ASCII, no user, query or fragment, no
//  percent-escape, IPv6 literal or dot segment, a lower-case host, a port
//  (if any) of digits without a leading zero, and a path.
static bool
s_shown_as_is (const char *url)
{
    const char *rest = strncmp (url, "http://", 7) == 0 ? url + 7
                     : strncmp (url, "https://", 8) == 0 ? url + 8 : NULL;
    if (!rest || !*rest || *rest == '/' || *rest == ':')
        return false;
    for (const char *at = url; *at; at++)
        if (*at <= ' ' || *at >= 127 || strchr ("@?#[%\\", *at))
            return false;
    if (strstr (rest, "/."))
        return false;
    const char *slash = strchr (rest, '/');
    if (!slash)
        return false;
    const char *colon = memchr (rest, ':', (size_t) (slash - rest));
    const char *host_end = colon ? colon : slash;
    //  A host of lower-case letters, digits, '-' and '.'; one whose labels
    //  start with a digit only as a dotted quad libcurl would not rewrite
    //  ("127.1", "0x7f.1" and "2130706433" it does).
    bool digit_label = false;
    for (const char *at = rest; at < host_end; at++) {
        if (!(islower ((unsigned char) *at) || isdigit ((unsigned char) *at)
           || *at == '-' || *at == '.'))
            return false;
        if (isdigit ((unsigned char) *at) && (at == rest || at [-1] == '.'))
            digit_label = true;
    }
    if (digit_label && !s_dotted_quad (rest, host_end))
        return false;
    if (colon) {
        size_t digits = (size_t) (slash - colon - 1);
        if (digits == 0 || digits > 5 || colon [1] == '0')
            return false;
        long port = 0;
        for (const char *at = colon + 1; at < slash; at++) {
            if (!isdigit ((unsigned char) *at))
                return false;
            port = port * 10 + (*at - '0');
        }
        if (port > 65535)
            return false;
    }
    return true;
}

void
sq_url_shown (const char *url, char *out, size_t out_size)
{
    if (!out_size)
        return;
    if (url && s_shown_as_is (url) && strlen (url) < out_size) {
        memcpy (out, url, strlen (url) + 1);
        return;
    }
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
