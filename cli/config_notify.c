/*  config_notify.c: the rules of the notification keys, beside config.c's.

    The smtp section, the top-level delivery settings (digest_after,
    digest_window, give_up_after, retry_max), the owners and their channels,
    and two check keys whose values are more than a scalar: cert_warn_days
    and maintenance.  config.c walks the file and calls in here; the value
    readers (config_expected, config_duration, ...) are its.  The key list
    with every rule is at the top of config.c, the words in docs/CONFIG.md.

    What is checked here is what can be known at load: an address's form,
    that a password file is private, that a command can be run.  Whether
    the mail server answers is the notifier's to find out.
*/
#include "config_private.h"
#include "config.h"
#include "sq_defaults.h"
#include "template.h"

#include <assert.h>
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define KEYS_COUNT(keys) (sizeof (keys) / sizeof (keys [0]))

//  Largest digest_after: far beyond any useful value, small enough to
//  read at a glance.
#define DIGEST_AFTER_MAX    100000

//  Longest piece of an owner's name quoted in messages (config.c's QUOTE_MAX).
#define NAME_QUOTE_MAX      60

//  Examples the messages show.
#define ADDRESS_EXAMPLE     "an address such as alice@example.com"
#define TIME_EXAMPLE        "a time such as 2026-12-01T02:00Z (UTC) or 2026-12-01T03:00+01:00"

//  Key lists, in the order messages show them and of their enums.
typedef enum {
    SMTP_URL, SMTP_FROM, SMTP_USER, SMTP_PASSWORD_FILE, SMTP_CA_FILE
} smtp_key_t;
static const char *s_smtp_keys [] = { "url", "from", "user", "password_file", "ca_file" };
typedef enum {
    OWNER_EMAIL, OWNER_WEBHOOK, OWNER_WEBHOOK_TEMPLATE, OWNER_SLACK, OWNER_DISCORD,
    OWNER_COMMAND, OWNER_QUIET, OWNER_MAINTENANCE, OWNER_NOTIFY_DEGRADED
} owner_key_t;
static const char *s_owner_keys [] = {
    "email", "webhook", "webhook_template", "slack", "discord", "command", "quiet", "maintenance",
    "notify_degraded"
};
typedef enum { WINDOW_START, WINDOW_END, WINDOW_DURATION, WINDOW_EVERY } window_key_t;
static const char *s_window_keys [] = { "start", "end", "duration", "every" };

static const duration_rule_t s_digest_window_rule = { 1000, 3600000, "from 1s to 1h" };
static const duration_rule_t s_give_up_rule = { 1000, 7 * 86400000ULL, "from 1s to 7d" };
static const duration_rule_t s_retry_max_rule = { 1000, 3600000, "from 1s to 1h" };
static const duration_rule_t s_length_rule = {
    1000, SQ_WINDOW_LENGTH_MAX * 1000ULL, "from 1s to 31d" };
static const duration_rule_t s_every_rule = {
    1000, SQ_WINDOW_EVERY_MAX * 1000ULL, "from the window's length to 366d" };


//  --------------------------------------------------------------------------
//  The settings and what the config owns

void
config_notify_defaults (config_t *config)
{
    config->notify = (notifier_settings_t) {
        .digest_after = SQ_NOTIFY_DIGEST_AFTER,
        .digest_window_ms = SQ_NOTIFY_DIGEST_WINDOW_MS,
        .give_up_ms = SQ_NOTIFY_GIVE_UP_MS,
        .retry_first_ms = SQ_NOTIFY_BACKOFF_MS,
        .retry_max_ms = SQ_NOTIFY_RETRY_MAX_MS,
        .timeout_ms = SQ_NOTIFY_TIMEOUT_MS
    };
}

void
config_notify_free (config_t *config)
{
    //  Owners are allocated for the whole mapping; count says how many
    //  were filled, the rest are zeroed.
    for (size_t index = 0; index < config->owner_count; index++) {
        config_owner_t *owner = &config->owners [index];
        free (owner->name);
        free (owner->email);
        free (owner->webhook);
        free (owner->webhook_template);
        free (owner->slack);
        free (owner->discord);
        free (owner->command);
    }
    free (config->owners);
    config->owners = NULL;
    config->owner_count = 0;
    config_smtp_t *smtp = &config->smtp;
    free (smtp->url);
    free (smtp->from);
    free (smtp->user);
    free (smtp->password_file);
    free (smtp->ca_file);
    memset (smtp, 0, sizeof (*smtp));
    config->notify.smtp_url = config->notify.smtp_from = config->notify.smtp_user = NULL;
    config->notify.smtp_password_file = config->notify.smtp_ca_file = NULL;
}

int
config_notify_setting (loader_t *loader, const char *key, const node_t *value)
{
    notifier_settings_t *notify = &loader->config->notify;
    uint64_t ms;
    if (strcmp (key, "digest_after") == 0) {
        uint32_t count;
        if (config_whole (loader, value, key, 1, DIGEST_AFTER_MAX, &count))
            return -1;
        notify->digest_after = count;
    }
    else
    if (strcmp (key, "digest_window") == 0) {
        if (config_duration (loader, value, key, &s_digest_window_rule, &ms))
            return -1;
        notify->digest_window_ms = (uint32_t) ms;
    }
    else
    if (strcmp (key, "give_up_after") == 0) {
        if (config_duration (loader, value, key, &s_give_up_rule, &ms))
            return -1;
        notify->give_up_ms = ms;
    }
    else {
        assert (strcmp (key, "retry_max") == 0);
        if (config_duration (loader, value, key, &s_retry_max_rule, &ms))
            return -1;
        notify->retry_max_ms = (uint32_t) ms;
    }
    return 0;
}


//  --------------------------------------------------------------------------
//  Values of the notification keys

//  Keep text in field.  -1 when there is none: its reader reported why.
static int
s_keep (char **field, const char *text)
{
    if (!text)
        return -1;
    config_replace (field, text);
    return 0;
}

//  "KEY: expected WHAT, got 'TEXT': REASON" at the node: for files, whose
//  trouble is not in the text but on the disk.
static int
s_file_fail (loader_t *loader, const node_t *node, const char *key, const char *what,
             const char *reason)
{
    return config_fail (&loader->source, node->line, node->column, "%s: expected %s, got '%s': %s",
                        key, what, node->value, reason);
}

//  Text of at most max bytes, without control characters.  The borrowed
//  text, or NULL.
static const char *
s_line (loader_t *loader, const node_t *node, const char *key, const char *what, size_t max)
{
    const char *text = config_text (loader, node, key, what);
    if (!text)
        return NULL;
    if (strlen (text) > max) {
        config_fail (&loader->source, node->line, node->column,
                     "%s: expected at most %zu bytes, got %zu", key, max, strlen (text));
        return NULL;
    }
    for (const char *at = text; *at; at++)
        if ((uint8_t) *at < 0x20 || *at == 0x7F) {
            config_fail (&loader->source, node->line, node->column,
                         "%s: expected %s, got a control character (byte 0x%02X) as character %zu",
                         key, what, (unsigned) (uint8_t) *at, (size_t) (at - text) + 1);
            return NULL;
        }
    return text;
}

//  The words for a character an address may not hold, or NULL if it may.
static const char *
s_address_refuses (char character)
{
    switch (character) {
        case ' ':  return "a space";
        case '\r': return "a carriage return (CR)";
        case '\n': return "a line feed (LF)";
        case '<':  return "'<'";
        case '>':  return "'>'";
        case '"':  return "a double quote";
        case '\'': return "a single quote";
        default:
            return (uint8_t) character < 0x20 || character == 0x7F ? "a control character" : NULL;
    }
}

//  An email address, local@domain, as the envelope and the headers of a
//  mail take it: nothing that could end a line or an angle-bracketed
//  address, no quoting, one '@', a domain of dot-separated names.
static int
s_address (loader_t *loader, const node_t *node, const char *key, char **field)
{
    const char *text = config_text (loader, node, key, ADDRESS_EXAMPLE);
    if (!text)
        return -1;
    size_t length = strlen (text);
    if (length > SQ_EMAIL_MAX)
        return config_fail (&loader->source, node->line, node->column,
                            "%s: expected an address of at most %d bytes, got %zu",
                            key, SQ_EMAIL_MAX, length);
    for (size_t at = 0; at < length; at++) {
        const char *refused = s_address_refuses (text [at]);
        if (refused)
            return config_fail (&loader->source, node->line, node->column,
                                "%s: expected %s, without spaces, CR, LF, <, > or quotes, "
                                "got %s as character %zu", key, ADDRESS_EXAMPLE, refused, at + 1);
    }
    const char *at_sign = strchr (text, '@');
    const char *domain = at_sign ? at_sign + 1 : "";
    bool valid = at_sign && at_sign > text && *domain && !strchr (domain, '@')
              && strcspn (text, "(),:;[\\]") == length
              && *domain != '.' && domain [strlen (domain) - 1] != '.'
              && !strstr (domain, "..");
    for (const char *letter = domain; valid && *letter; letter++)
        valid = (*letter >= 'a' && *letter <= 'z') || (*letter >= 'A' && *letter <= 'Z')
             || (*letter >= '0' && *letter <= '9') || *letter == '-' || *letter == '.';
    if (!valid)
        return config_expected (loader, node, key, "an address local@domain such as "
                                "alice@example.com");
    config_replace (field, text);
    return 0;
}

//  The smtp url: smtp:// or smtps://, a host, and no password (that is
//  password_file's, which only its owner can read).  libcurl parses it,
//  as it will when it sends.
static int
s_smtp_url (loader_t *loader, const node_t *node, char **field)
{
    const char *what = "an smtp:// or smtps:// URL such as smtps://mail.example.com:465";
    const char *url = s_line (loader, node, "url", what, SQ_URL_MAX);
    if (!url)
        return -1;
    if (strncasecmp (url, "smtp://", 7) && strncasecmp (url, "smtps://", 8))
        return config_expected (loader, node, "url", what);
    CURLU *handle = curl_url ();
    assert (handle);
    char *host = NULL, *password = NULL;
    int rc = 0;
    if (curl_url_set (handle, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK
    ||  curl_url_get (handle, CURLUPART_HOST, &host, 0) != CURLUE_OK || !host || !*host)
        rc = config_expected (loader, node, "url", what);
    else
    if (curl_url_get (handle, CURLUPART_PASSWORD, &password, 0) == CURLUE_OK && password)
        rc = config_fail (&loader->source, node->line, node->column,
                          "url: expected no password in the URL (put it in password_file), "
                          "got one");
    curl_free (host);
    curl_free (password);
    curl_url_cleanup (handle);
    if (rc == 0)
        config_replace (field, url);
    return rc;
}

//  A file we can read.  secret: only its owner may read or write it, as
//  ssh and libpq ask of theirs.
int
config_readable_file (loader_t *loader, const node_t *node, const char *key, bool secret,
                      char **field)
{
    const char *what = secret ? "a file only its owner can read" : "a file we can read";
    const char *path = s_line (loader, node, key, "a file name", PATH_MAX);
    if (!path)
        return -1;
    struct stat info;
    if (stat (path, &info))
        return s_file_fail (loader, node, key, what, strerror (errno));
    if (!S_ISREG (info.st_mode))
        return s_file_fail (loader, node, key, what, "not a regular file");
    if (access (path, R_OK))
        return s_file_fail (loader, node, key, what, strerror (errno));
    if (secret && (info.st_mode & 077)) {
        char reason [PATH_MAX + 64];
        snprintf (reason, sizeof (reason), "mode %04o lets others in: chmod 600 %s",
                  (unsigned) (info.st_mode & 07777), path);
        return s_file_fail (loader, node, key, what, reason);
    }
    config_replace (field, path);
    return 0;
}

//  A program to run: an absolute path to a file we may execute.
static int
s_command (loader_t *loader, const node_t *node, char **field)
{
    const char *what = "an absolute path such as /usr/local/bin/page-alice";
    const char *path = s_line (loader, node, "command", what, SQ_COMMAND_MAX);
    if (!path)
        return -1;
    if (path [0] != '/')
        return config_expected (loader, node, "command", what);
    struct stat info;
    if (stat (path, &info))
        return s_file_fail (loader, node, "command", "an executable file", strerror (errno));
    if (!S_ISREG (info.st_mode))
        return s_file_fail (loader, node, "command", "an executable file", "not a regular file");
    if (access (path, X_OK))
        return s_file_fail (loader, node, "command", "an executable file",
                            errno == EACCES ? "not executable (chmod +x)" : strerror (errno));
    config_replace (field, path);
    return 0;
}

//  A Slack or Discord webhook: http(s), at most SQ_CHANNEL_URL_MAX bytes.
static int
s_channel_url (loader_t *loader, const node_t *node, const char *key, char **field)
{
    const char *url = config_url (loader, node, key);
    if (!url)
        return -1;
    if (strlen (url) > SQ_CHANNEL_URL_MAX)
        return config_fail (&loader->source, node->line, node->column,
                            "%s: expected a URL of at most %d bytes, got %zu",
                            key, SQ_CHANNEL_URL_MAX, strlen (url));
    config_replace (field, url);
    return 0;
}

//  Line and column of byte offset in node's value.  Exact when the value
//  is written in the file as it is, on one line (plain, or quoted without
//  escapes); otherwise the scalar's own start.
static void
s_value_position (const loader_t *loader, const node_t *node, size_t offset,
                  int *line, int *column)
{
    *line = node->line;
    *column = node->column;
    const config_source_t *source = &loader->source;
    size_t at = 0;
    for (int row = 1; row < node->line && at < source->size; )
        if (source->text [at++] == '\n')
            row++;
    //  Columns count characters, not bytes.
    for (int character = 1; character < node->column && at < source->size; character++) {
        at++;
        while (at < source->size && ((uint8_t) source->text [at] & 0xC0) == 0x80)
            at++;
    }
    int quote = 0;
    if (!node->plain && at < source->size
    &&  (source->text [at] == '\'' || source->text [at] == '"')) {
        at++;
        quote = 1;
    }
    size_t length = strlen (node->value);
    if (strchr (node->value, '\n') || at + length > source->size
    ||  memcmp (source->text + at, node->value, length))
        return;
    *column += quote;
    for (size_t byte = 0; byte < offset && byte < length; byte++)
        if (((uint8_t) node->value [byte] & 0xC0) != 0x80)
            (*column)++;
}

//  A webhook body template: template_check decides, and its mistake is
//  pointed at inside the value when it can be.
static int
s_template (loader_t *loader, const node_t *node, char **field)
{
    const char *text = config_text (loader, node, "webhook_template",
                                    "a template such as '{\"text\": \"{{url}} is {{state}}\"}'");
    if (!text)
        return -1;
    if (strlen (text) > SQ_TEMPLATE_MAX)
        return config_fail (&loader->source, node->line, node->column,
                            "webhook_template: expected at most %d bytes, got %zu",
                            SQ_TEMPLATE_MAX, strlen (text));
    size_t error_at = 0;
    char why [SQ_TEXT_MAX];
    if (template_check (text, &error_at, why, sizeof (why))) {
        int line, column;
        s_value_position (loader, node, error_at, &line, &column);
        return config_fail (&loader->source, line, column, "webhook_template: %s", why);
    }
    config_replace (field, text);
    return 0;
}


//  --------------------------------------------------------------------------
//  The smtp section and the owners

int
config_smtp_parse (loader_t *loader, const node_t *value)
{
    if (config_node_is_null (value))
        return 0;               //  left empty: no email
    if (value->kind != NODE_MAPPING)
        return config_expected (loader, value, "smtp",
                                "a mapping such as '{ url: smtps://mail.example.com:465, "
                                "from: squirrel@example.com }'");
    config_smtp_t *smtp = &loader->config->smtp;
    for (size_t pair = 0; pair < value->count / 2; pair++) {
        int key = config_key_check (loader, value, pair, "in smtp", s_smtp_keys,
                                    KEYS_COUNT (s_smtp_keys));
        if (key < 0)
            return -1;
        const node_t *item = value->children [pair * 2 + 1];
        int rc = -1;
        switch ((smtp_key_t) key) {
            case SMTP_URL:
                rc = s_smtp_url (loader, item, &smtp->url);
                break;
            case SMTP_FROM:
                rc = s_address (loader, item, "from", &smtp->from);
                break;
            case SMTP_USER:
                rc = s_keep (&smtp->user,
                             s_line (loader, item, "user", "a user name", SQ_EMAIL_MAX));
                break;
            case SMTP_PASSWORD_FILE:
                rc = config_readable_file (loader, item, "password_file", true, &smtp->password_file);
                break;
            case SMTP_CA_FILE:
                rc = config_readable_file (loader, item, "ca_file", false, &smtp->ca_file);
                break;
        }
        if (rc)
            return -1;
    }
    if (!smtp->url || !smtp->from)
        return config_fail (&loader->source, value->line, value->column,
                            "smtp: expected %s, got none", !smtp->url
                            ? "a url key (url: smtps://mail.example.com:465)"
                            : "a from key (from: squirrel@example.com)");
    notifier_settings_t *notify = &loader->config->notify;
    notify->smtp_url = smtp->url;
    notify->smtp_from = smtp->from;
    notify->smtp_user = smtp->user;
    notify->smtp_password_file = smtp->password_file;
    notify->smtp_ca_file = smtp->ca_file;
    return 0;
}

int
config_owner_parse (loader_t *loader, const node_t *name, const node_t *node)
{
    config_t *config = loader->config;
    config_owner_t *owner = &config->owners [config->owner_count++];
    config_replace (&owner->name, name->value);
    char label [NAME_QUOTE_MAX + 16];
    snprintf (label, sizeof (label), "owner '%.*s'", NAME_QUOTE_MAX, name->value);
    if (strlen (name->value) > SQ_NAME_MAX)
        return config_fail (&loader->source, name->line, name->column,
                            "%s: expected a name of at most %d bytes, got %zu", label,
                            SQ_NAME_MAX, strlen (name->value));
    if (config_node_is_null (node))
        return 0;               //  no channel: notifications are only logged
    if (node->kind != NODE_MAPPING)
        return config_expected (loader, node, label, "a mapping such as 'webhook: https://...'");
    char where [NAME_QUOTE_MAX + 32];
    snprintf (where, sizeof (where), "in %s", label);
    const node_t *template_key = NULL;
    for (size_t pair = 0; pair < node->count / 2; pair++) {
        int key = config_key_check (loader, node, pair, where, s_owner_keys,
                                    KEYS_COUNT (s_owner_keys));
        if (key < 0)
            return -1;
        const node_t *name_node = node->children [pair * 2];
        const node_t *item = node->children [pair * 2 + 1];
        int rc = -1;
        switch ((owner_key_t) key) {
            case OWNER_EMAIL:
                //  smtp may come later in the file: the loader looked for
                //  it before any rule ran.
                if (!loader->smtp)
                    return config_fail (&loader->source, name_node->line, name_node->column,
                                        "email: expected an smtp section at top level to send "
                                        "it through (smtp: { url: ..., from: ... }), got none");
                rc = s_address (loader, item, "email", &owner->email);
                break;
            case OWNER_WEBHOOK:
                rc = s_keep (&owner->webhook, config_url (loader, item, "webhook"));
                break;
            case OWNER_WEBHOOK_TEMPLATE:
                template_key = name_node;
                rc = s_template (loader, item, &owner->webhook_template);
                break;
            case OWNER_SLACK:
                rc = s_channel_url (loader, item, "slack", &owner->slack);
                break;
            case OWNER_DISCORD:
                rc = s_channel_url (loader, item, "discord", &owner->discord);
                break;
            case OWNER_COMMAND:
                rc = s_command (loader, item, &owner->command);
                break;
            case OWNER_QUIET:
                rc = config_bool (loader, item, "quiet", &owner->quiet);
                break;
            case OWNER_MAINTENANCE:
                rc = config_windows_parse (loader, item, "maintenance", &owner->maintenance);
                break;
            case OWNER_NOTIFY_DEGRADED:
                rc = config_bool (loader, item, "notify_degraded", &owner->notify_degraded);
                break;
        }
        if (rc)
            return -1;
    }
    if (template_key && !owner->webhook)
        return config_fail (&loader->source, template_key->line, template_key->column,
                            "webhook_template: expected a webhook beside it to use it "
                            "(webhook: https://...), got none");
    return 0;
}


//  --------------------------------------------------------------------------
//  cert_warn_days and maintenance

int
config_days_parse (loader_t *loader, const node_t *node, const char *key, sq_days_t *days)
{
    char what [64];
    snprintf (what, sizeof (what), "a list of 1 to %d day counts such as [14, 3]", SQ_DAYS_MAX);
    if (node->kind != NODE_LIST)
        return config_expected (loader, node, key, what);
    if (node->count == 0)
        return config_fail (&loader->source, node->line, node->column,
                            "%s: expected %s, got an empty list", key, what);
    //  Kept largest first, each once: the order warnings come in.
    sq_days_t sorted = { 0 };
    for (size_t index = 0; index < node->count; index++) {
        const node_t *item = node->children [index];
        if (index == SQ_DAYS_MAX)
            return config_fail (&loader->source, item->line, item->column,
                                "%s: expected at most %d day counts, got %zu",
                                key, SQ_DAYS_MAX, node->count);
        uint32_t day;
        if (config_whole (loader, item, key, 1, SQ_DAYS_VALUE_MAX, &day))
            return -1;
        size_t slot = 0;
        while (slot < sorted.count && sorted.day [slot] > day)
            slot++;
        if (slot < sorted.count && sorted.day [slot] == day)
            continue;
        memmove (&sorted.day [slot + 1], &sorted.day [slot],
                 (sorted.count - slot) * sizeof (sorted.day [0]));
        sorted.day [slot] = (uint16_t) day;
        sorted.count++;
    }
    *days = sorted;
    return 0;
}

//  Seconds written back as a duration: 90000 -> "1d1h"; days are
//  clearer than weeks in a message.
static void
s_seconds_text (uint64_t seconds, char *buffer, size_t buffer_size)
{
    static const struct { const char *name; uint64_t seconds; } units [] = {
        { "d", 86400 }, { "h", 3600 }, { "m", 60 }, { "s", 1 }
    };
    size_t used = 0;
    buffer [0] = '\0';
    for (size_t unit = 0; unit < KEYS_COUNT (units) && used < buffer_size; unit++)
        if (seconds >= units [unit].seconds) {
            int wrote = snprintf (buffer + used, buffer_size - used, "%llu%s",
                                  (unsigned long long) (seconds / units [unit].seconds),
                                  units [unit].name);
            used += wrote > 0 ? (size_t) wrote : 0;
            seconds %= units [unit].seconds;
        }
}

//  A duration in whole seconds, within rule.
static int
s_seconds (loader_t *loader, const node_t *node, const char *key, const duration_rule_t *rule,
           uint64_t *seconds)
{
    uint64_t ms;
    if (config_duration (loader, node, key, rule, &ms))
        return -1;
    if (ms % 1000)
        return config_expected (loader, node, key, "a duration in whole seconds");
    *seconds = ms / 1000;
    return 0;
}

static int
s_time (loader_t *loader, const node_t *node, const char *key, int64_t *unix_s)
{
    if (node->kind != NODE_SCALAR || config_time_parse (node->value, unix_s))
        return config_expected (loader, node, key, TIME_EXAMPLE);
    return 0;
}

//  One window: { start, end or duration, every }.
static int
s_window_parse (loader_t *loader, const node_t *node, const char *key, sq_window_t *window)
{
    if (node->kind != NODE_MAPPING)
        return config_expected (loader, node, key, "a window such as "
                                "'{ start: 2026-12-01T02:00Z, end: 2026-12-01T04:00Z }'");
    const node_t *keys [KEYS_COUNT (s_window_keys)] = { NULL };
    const node_t *values [KEYS_COUNT (s_window_keys)] = { NULL };
    for (size_t pair = 0; pair < node->count / 2; pair++) {
        int index = config_key_check (loader, node, pair, "in maintenance window",
                                      s_window_keys, KEYS_COUNT (s_window_keys));
        if (index < 0)
            return -1;
        keys [index] = node->children [pair * 2];
        values [index] = node->children [pair * 2 + 1];
    }
    if (!values [WINDOW_START])
        return config_fail (&loader->source, node->line, node->column,
                            "%s: expected a start key (start: 2026-12-01T02:00Z), got none", key);
    if (values [WINDOW_END] && values [WINDOW_DURATION]) {
        const node_t *later = keys [WINDOW_END]->line > keys [WINDOW_DURATION]->line
                           || (keys [WINDOW_END]->line == keys [WINDOW_DURATION]->line
                           &&  keys [WINDOW_END]->column > keys [WINDOW_DURATION]->column)
                            ? keys [WINDOW_END] : keys [WINDOW_DURATION];
        return config_fail (&loader->source, later->line, later->column,
                            "%s: expected end or duration, not both, got both", later->value);
    }
    if (!values [WINDOW_END] && !values [WINDOW_DURATION])
        return config_fail (&loader->source, node->line, node->column,
                            "%s: expected an end or a duration key (end: 2026-12-01T04:00Z, "
                            "or duration: 2h), got neither", key);
    int64_t start_s;
    if (s_time (loader, values [WINDOW_START], "start", &start_s))
        return -1;
    uint64_t length_s = 0;
    const node_t *end = values [WINDOW_END];
    if (end) {
        int64_t end_s;
        if (s_time (loader, end, "end", &end_s))
            return -1;
        if (end_s <= start_s)
            return config_fail (&loader->source, end->line, end->column,
                                "end: expected a time after start (%s), got '%s'",
                                values [WINDOW_START]->value, end->value);
        length_s = (uint64_t) (end_s - start_s);
        if (length_s > SQ_WINDOW_LENGTH_MAX) {
            char length [64];
            s_seconds_text (length_s, length, sizeof (length));
            return config_fail (&loader->source, end->line, end->column,
                                "end: expected at most 31d after start, got '%s', %s after it",
                                end->value, length);
        }
    }
    else
    if (s_seconds (loader, values [WINDOW_DURATION], "duration", &s_length_rule, &length_s))
        return -1;
    uint64_t every_s = 0;
    const node_t *every = values [WINDOW_EVERY];
    if (every) {
        if (s_seconds (loader, every, "every", &s_every_rule, &every_s))
            return -1;
        if (every_s < length_s) {
            char length [64];
            s_seconds_text (length_s, length, sizeof (length));
            return config_fail (&loader->source, every->line, every->column,
                                "every: expected a duration from the window's length (%s) "
                                "to 366d, got '%s'", length, every->value);
        }
    }
    *window = (sq_window_t) {
        .start_s = start_s, .length_s = (uint32_t) length_s, .every_s = (uint32_t) every_s
    };
    //  The rules above are the wire contract's; this says they agree.
    assert (sq_window_valid (window));
    return 0;
}

int
config_windows_parse (loader_t *loader, const node_t *node, const char *key,
                      sq_windows_t *windows)
{
    sq_windows_t parsed = { 0 };
    if (!config_node_is_null (node)) {
        if (node->kind != NODE_LIST)
            return config_expected (loader, node, key, "a list of windows such as "
                                    "'- { start: 2026-12-01T02:00Z, end: 2026-12-01T04:00Z }'");
        for (size_t index = 0; index < node->count; index++) {
            const node_t *item = node->children [index];
            if (index == SQ_WINDOWS_MAX)
                return config_fail (&loader->source, item->line, item->column,
                                    "%s: expected at most %d windows, got %zu",
                                    key, SQ_WINDOWS_MAX, node->count);
            if (s_window_parse (loader, item, key, &parsed.window [index]))
                return -1;
            parsed.count++;
        }
    }
    *windows = parsed;
    return 0;
}


//  --------------------------------------------------------------------------
//  Times

//  Exactly count digits at *at, as a number; moves *at past them.
static int
s_digits (const char **at, int count, int *value)
{
    *value = 0;
    for (int digit = 0; digit < count; digit++) {
        if (**at < '0' || **at > '9')
            return -1;
        *value = *value * 10 + (*(*at)++ - '0');
    }
    return 0;
}

static int
s_month_days (int year, int month)
{
    static const int days [] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days [month - 1];
}

int
config_time_parse (const char *text, int64_t *unix_s)
{
    if (!text)
        return -1;
    //  YYYY-MM-DDTHH:MM[:SS] then Z, +HH:MM or -HH:MM.  Each separator is
    //  tested before the next read, so a short text stops at its NUL.
    const char *at = text;
    int year, month, day, hour, minute, second = 0;
    if (s_digits (&at, 4, &year) || *at++ != '-' || s_digits (&at, 2, &month) || *at++ != '-'
    ||  s_digits (&at, 2, &day) || *at++ != 'T' || s_digits (&at, 2, &hour) || *at++ != ':'
    ||  s_digits (&at, 2, &minute))
        return -1;
    if (*at == ':') {
        at++;
        if (s_digits (&at, 2, &second))
            return -1;
    }
    int offset_s = 0;
    if (*at == 'Z')
        at++;
    else
    if (*at == '+' || *at == '-') {
        int sign = *at++ == '-' ? -1 : 1;
        int offset_hours, offset_minutes;
        if (s_digits (&at, 2, &offset_hours) || *at++ != ':'
        ||  s_digits (&at, 2, &offset_minutes) || offset_hours > 23 || offset_minutes > 59)
            return -1;
        offset_s = sign * (offset_hours * 3600 + offset_minutes * 60);
    }
    else
        return -1;
    if (*at || month < 1 || month > 12 || day < 1 || day > s_month_days (year, month)
    ||  hour > 23 || minute > 59 || second > 59)
        return -1;
    struct tm fields = {
        .tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = day,
        .tm_hour = hour, .tm_min = minute, .tm_sec = second
    };
    int64_t seconds = (int64_t) timegm (&fields) - offset_s;
    if (seconds < 0)
        return -1;
    *unix_s = seconds;
    return 0;
}
