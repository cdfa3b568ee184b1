/*  test_config.c: the config loader.  Both formats, every value of the
    documented example, durations, and each kind of mistake with the exact
    line and column it is reported at.  Files are written at run time into
    a mkdtemp folder that is the working directory during the tests, so
    that messages start with the bare file name.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "sq_json.h"
#include "sq_defaults.h"

static char s_folder [PATH_MAX];        //  the mkdtemp folder
static char s_home [PATH_MAX];          //  working directory before the tests

static int
s_setup (void **state)
{
    if (!getcwd (s_home, sizeof (s_home)))
        return -1;
    snprintf (s_folder, sizeof (s_folder), "/tmp/test_config.XXXXXX");
    if (!mkdtemp (s_folder) || chdir (s_folder))
        return -1;
    return 0;
}

static int
s_teardown (void **state)
{
    DIR *folder = opendir (s_folder);
    if (folder) {
        struct dirent *entry;
        while ((entry = readdir (folder)))
            if (strcmp (entry->d_name, ".") && strcmp (entry->d_name, ".."))
                if (unlink (entry->d_name))
                    rmdir (entry->d_name);
        closedir (folder);
    }
    if (chdir (s_home))
        return -1;
    return rmdir (s_folder);
}

//  Write size bytes of text to name in the test folder.
static void
s_write_bytes (const char *name, const char *text, size_t size)
{
    FILE *file = fopen (name, "wb");
    assert_non_null (file);
    assert_int_equal (fwrite (text, 1, size, file), size);
    assert_int_equal (fclose (file), 0);
}

static void
s_write (const char *name, const char *text)
{
    s_write_bytes (name, text, strlen (text));
}

//  Write text to name and load it; the test fails if it does not load.
static config_t *
s_load (const char *name, const char *text)
{
    s_write (name, text);
    char error [512] = "";
    config_t *config = config_load (name, error, sizeof (error));
    if (!config)
        fail_msg ("%s did not load: %s", name, error);
    return config;
}

//  Write text to bad.yaml, load it, and expect exactly this error.
static void
s_expect_error (const char *text, const char *expected)
{
    s_write ("bad.yaml", text);
    char error [512] = "";
    config_t *config = config_load ("bad.yaml", error, sizeof (error));
    if (config) {
        config_destroy (&config);
        fail_msg ("loaded, but expected: %s\n--- file:\n%s", expected, text);
    }
    if (strcmp (error, expected))
        fail_msg ("expected: %s\n     got: %s\n--- file:\n%s", expected, error, text);
}

//  The example of the documentation, as written there.
static const char *s_example =
    "data_dir: ./squirrel-data           # SQLite store and runtime files\n"
    "feed: ipc:///tmp/squirrel.feed      # where `squirrel watch` connects\n"
    "defaults:\n"
    "  interval: 5m                      # durations: 500ms, 30s, 5m, 1h\n"
    "  timeout: 20s\n"
    "  method: HEAD\n"
    "  failure_threshold: 2\n"
    "  success_threshold: 2\n"
    "owners:\n"
    "  alice:\n"
    "    webhook: https://hooks.example.com/alice\n"
    "sites:\n"
    "  - url: https://example.com/\n"
    "    owner: alice\n"
    "    interval: 1m                    # any default may be overridden per site\n"
    "    accept: \"200-399\"\n"
    "    keyword: Welcome\n"
    "    max_latency: 2s\n";

//  Every key of a site, or of the defaults, at its built-in value.
static void
s_assert_built_in (const config_site_t *site)
{
    assert_int_equal (site->interval_ms, 300000);
    assert_int_equal (site->timeout_ms, 20000);
    assert_int_equal (site->method, SQ_METHOD_HEAD);
    assert_int_equal (site->failure_threshold, 2);
    assert_int_equal (site->success_threshold, 2);
    assert_int_equal (site->accept.count, 0);
    assert_string_equal (site->keyword, "");
    assert_int_equal (site->max_latency_ms, 0);
    assert_int_equal (site->max_redirects, 10);
    assert_true (site->tls_verify);
    assert_int_equal (site->remind_every_ms, 3600000);
    assert_int_equal (site->flap_changes, 5);
    assert_int_equal (site->flap_window_ms, 1800000);
    assert_int_equal (site->cert_warn_days.count, 2);
    assert_int_equal (site->cert_warn_days.day [0], 14);
    assert_int_equal (site->cert_warn_days.day [1], 3);
    assert_int_equal (site->maintenance.count, 0);
    assert_string_equal (site->regions, "");
    assert_int_equal (site->quorum, 0);
}

static void
test_example (void **state)
{
    config_t *config = s_load ("squirrel.yaml", s_example);
    assert_string_equal (config->path, "squirrel.yaml");
    assert_string_equal (config->data_dir, "./squirrel-data");
    assert_string_equal (config->feed, "ipc:///tmp/squirrel.feed");

    const config_site_t *defaults = &config->defaults;
    assert_null (defaults->url);
    s_assert_built_in (defaults);

    assert_int_equal (config->owner_count, 1);
    assert_string_equal (config->owners [0].name, "alice");
    assert_string_equal (config->owners [0].webhook, "https://hooks.example.com/alice");
    assert_ptr_equal (config_owner (config, "alice"), &config->owners [0]);
    assert_null (config_owner (config, "bob"));
    assert_null (config_owner (config, NULL));

    assert_int_equal (config->site_count, 1);
    const config_site_t *site = &config->sites [0];
    assert_ptr_equal (config_site_by_url (config, "https://example.com/"), site);
    assert_null (config_site_by_url (config, "https://example.com"));
    assert_int_equal (site->id, 0);
    assert_string_equal (site->url, "https://example.com/");
    assert_string_equal (site->owner, "alice");
    assert_int_equal (site->interval_ms, 60000);          //  overridden
    assert_int_equal (site->timeout_ms, 20000);           //  from defaults
    assert_int_equal (site->method, SQ_METHOD_HEAD);
    assert_int_equal (site->failure_threshold, 2);
    assert_int_equal (site->success_threshold, 2);
    assert_int_equal (site->accept.count, 1);
    assert_int_equal (site->accept.low [0], 200);
    assert_int_equal (site->accept.high [0], 399);
    assert_string_equal (site->keyword, "Welcome");
    assert_int_equal (site->max_latency_ms, 2000);
    assert_int_equal (site->max_redirects, 10);
    assert_true (site->tls_verify);
    assert_int_equal (site->line, 13);
    config_destroy (&config);
    assert_null (config);
    config_destroy (&config);           //  safe twice
}

//  Defaults that differ from the built-in ones, given after the sites:
//  a site gets every key it leaves out from them, wherever they are.
static void
test_defaults_and_overrides (void **state)
{
    config_t *config = s_load ("order.yaml",
        "sites:\n"
        "  - url: https://a.example/\n"
        "  - url: http://b.example/path?q=1\n"
        "    owner: bob\n"
        "    interval: 1h30m\n"
        "    timeout: 500ms\n"
        "    method: head\n"
        "    failure_threshold: 1\n"
        "    success_threshold: 100\n"
        "    accept: 200\n"
        "    keyword: \"\"\n"
        "    max_latency: 0\n"
        "    max_redirects: 50\n"
        "    tls_verify: true\n"
        "  - url: https://c.example/\n"
        "    keyword: Hello, world\n"
        "defaults:\n"
        "  interval: 30s\n"
        "  timeout: 10m\n"
        "  method: get\n"
        "  failure_threshold: 3\n"
        "  success_threshold: 4\n"
        "  accept: 200-299, 304\n"
        "  keyword: Welcome\n"
        "  max_latency: 1500ms\n"
        "  max_redirects: 0\n"
        "  tls_verify: no\n"
        "owners:\n"
        "  bob: { webhook: 'http://127.0.0.1:9/bob' }\n"
        "data_dir: /var/lib/squirrel\n"
        "feed: tcp://127.0.0.1:5560\n");
    assert_string_equal (config->data_dir, "/var/lib/squirrel");
    assert_string_equal (config->feed, "tcp://127.0.0.1:5560");
    assert_int_equal (config->site_count, 3);

    //  a: everything from defaults.
    const config_site_t *site = &config->sites [0];
    assert_string_equal (site->url, "https://a.example/");
    assert_null (site->owner);
    assert_int_equal (site->interval_ms, 30000);
    assert_int_equal (site->timeout_ms, 600000);
    assert_int_equal (site->method, SQ_METHOD_GET);
    assert_int_equal (site->failure_threshold, 3);
    assert_int_equal (site->success_threshold, 4);
    assert_int_equal (site->accept.count, 2);
    assert_int_equal (site->accept.low [1], 304);
    assert_int_equal (site->accept.high [1], 304);
    assert_string_equal (site->keyword, "Welcome");
    assert_ptr_not_equal (site->keyword, config->defaults.keyword);    //  a copy
    assert_int_equal (site->max_latency_ms, 1500);
    assert_int_equal (site->max_redirects, 0);
    assert_false (site->tls_verify);
    assert_int_equal (site->line, 2);

    //  b: everything overridden, several back to the built-in values.
    site = &config->sites [1];
    assert_string_equal (site->url, "http://b.example/path?q=1");
    assert_string_equal (site->owner, "bob");
    assert_int_equal (site->interval_ms, 5400000);
    assert_int_equal (site->timeout_ms, 500);
    assert_int_equal (site->method, SQ_METHOD_HEAD);
    assert_int_equal (site->failure_threshold, 1);
    assert_int_equal (site->success_threshold, 100);
    assert_int_equal (site->accept.count, 1);
    assert_int_equal (site->accept.low [0], 200);
    assert_int_equal (site->accept.high [0], 200);
    assert_string_equal (site->keyword, "");
    assert_int_equal (site->max_latency_ms, 0);
    assert_int_equal (site->max_redirects, 50);
    assert_true (site->tls_verify);
    assert_int_equal (site->line, 3);

    //  c: one override.
    site = &config->sites [2];
    assert_string_equal (site->keyword, "Hello, world");
    assert_int_equal (site->interval_ms, 30000);
    assert_int_equal (site->line, 15);
    assert_string_equal (config_owner (config, "bob")->webhook, "http://127.0.0.1:9/bob");
    config_destroy (&config);

    //  Empty sections are allowed, and give the built-in values.
    config = s_load ("empty-sites.yaml", "sites: []\nowners:\ndefaults: {}\n");
    assert_int_equal (config->site_count, 0);
    assert_int_equal (config->owner_count, 0);
    assert_string_equal (config->data_dir, "./squirrel-data");
    assert_null (config->feed);            //  ipc://<data_dir>/feed at run time
    assert_int_equal (config->defaults.interval_ms, 300000);
    config_destroy (&config);
    config = s_load ("no-sites.yaml", "data_dir: here   # and no sites at all\n");
    assert_int_equal (config->site_count, 0);
    assert_string_equal (config->data_dir, "here");
    config_destroy (&config);
}

static void
test_plain_list (void **state)
{
    config_t *config = s_load ("sites.txt",
        "# Sites to watch, the original WEBSITE_LIST\n"
        "\n"
        "https://example.com/\n"
        "   http://example.org/status   # indented, with a comment\n"
        "\t# an indented comment\n"
        "https://example.net/#section\n"
        "https://example.edu/\r\n"
        "\n");
    assert_int_equal (config->site_count, 4);
    assert_string_equal (config->sites [0].url, "https://example.com/");
    assert_int_equal (config->sites [0].line, 3);
    assert_string_equal (config->sites [1].url, "http://example.org/status");
    assert_int_equal (config->sites [1].line, 4);
    assert_string_equal (config->sites [2].url, "https://example.net/");     //  no fragment
    assert_int_equal (config->sites [2].line, 6);
    assert_string_equal (config->sites [3].url, "https://example.edu/");
    assert_int_equal (config->sites [3].line, 7);
    //  Every site has the built-in defaults.
    for (size_t index = 0; index < config->site_count; index++) {
        const config_site_t *site = &config->sites [index];
        assert_null (site->owner);
        s_assert_built_in (site);
    }
    assert_string_equal (config->data_dir, "./squirrel-data");
    config_destroy (&config);

    //  A byte order mark in front is skipped.
    config = s_load ("bom.txt", "\xEF\xBB\xBFhttps://example.com/\n");
    assert_int_equal (config->site_count, 1);
    assert_string_equal (config->sites [0].url, "https://example.com/");
    config_destroy (&config);

    //  Mistakes point at the URL.
    s_expect_error ("https://example.com/\n\nnot a url\n",
                    "bad.yaml:3:1: 'not a url' has no scheme: write http:// or https://");
    s_expect_error ("https://example.com/\n  ftp://example.com/file   # no\n",
                    "bad.yaml:2:3: scheme 'ftp' is not monitored: only http and https");
    s_expect_error ("# comment first\nhttps://example.com/\nhttps://example.org/\n"
                    "    https://example.com/\n",
                    "bad.yaml:4:5: site URL 'https://example.com/' is the same site as "
                    "bad.yaml:2:1 ('https://example.com/')");
    s_expect_error ("https://example.com/\ndata_dir: ./here\n",
                    "bad.yaml:2:1: 'data_dir: ./here' has no scheme: write http:// or https://");
}

static void
test_durations (void **state)
{
    struct { const char *text; uint64_t ms; } good [] = {
        { "500ms", 500 }, { "30s", 30000 }, { "5m", 300000 }, { "1h", 3600000 },
        { "1m30s", 90000 }, { "1h30m", 5400000 }, { "2s500ms", 2500 }, { "0", 0 },
        { "0s", 0 }, { "1h0m0s0ms", 3600000 }, { "90s", 90000 }, { "999999999ms", 999999999 },
        { "24h", 86400000 }, { "1h2m3s4ms", 3723004 },
        { "1w", 604800000 }, { "2d12h", 216000000 }, { "1d", 86400000 }, { "7d", 604800000 },
        { "1w1d1h1m1s1ms", 694861001 }, { "0d", 0 }, { "366d", 31622400000 },
    };
    for (size_t index = 0; index < sizeof (good) / sizeof (good [0]); index++) {
        uint64_t ms = 12345;
        if (config_duration_parse (good [index].text, &ms))
            fail_msg ("'%s' refused", good [index].text);
        assert_int_equal (ms, good [index].ms);
    }
    const char *bad [] = {
        "", "5", "5 minutes", "5 m", " 5s", "5s ", "m", "ms", "5x", "1.5s", "-5s", "+5s",
        "30s1m", "1m1m", "5ms5s", "5S", "5M", "1y", "5mss", "1000000000s", "00", "s5",
        "1h 30m", "5min", "5sec", "1d1w", "12h2d", "1w1w", "5D", "5W", "d", "1day", "1wk",
    };
    for (size_t index = 0; index < sizeof (bad) / sizeof (bad [0]); index++) {
        uint64_t ms = 12345;
        if (config_duration_parse (bad [index], &ms) == 0)
            fail_msg ("'%s' accepted as %llu ms", bad [index], (unsigned long long) ms);
        assert_int_equal (ms, 12345);       //  untouched on error
    }
    uint64_t ms;
    assert_int_equal (config_duration_parse (NULL, &ms), -1);
}

//  Each kind of mistake, with where it is reported.
static void
test_errors (void **state)
{
    struct { const char *text; const char *error; } cases [] = {
        //  Unknown keys, at every level.
        { "data_dir: ./data\n"
          "site:\n"
          "  - url: https://example.com/\n",
          "bad.yaml:2:1: unknown key 'site' at top level; expected one of: "
          "data_dir, feed, listen, keys, heartbeat, workers, smtp, digest_after, digest_window, "
          "give_up_after, retry_max, canaries, retention, http, status_page, defaults, owners, sites" },
        //  The topology keys.
        { "data_dir: ./data\n"
          "listen: tcp://0.0.0.0:7700\n",
          "bad.yaml:2:9: listen: expected a keys folder beside it (keys: ./keys), got none: "
          "tcp links run only with CURVE" },
        { "keys: ./keys\n"
          "listen: ipc:///tmp/x\n",
          "bad.yaml:2:9: listen: expected a tcp://HOST:PORT endpoint, PORT 1 to 65532, such as "
          "tcp://0.0.0.0:7700, got 'ipc:///tmp/x'" },
        { "keys: ./keys\n"
          "listen: tcp://0.0.0.0:65535\n",
          "bad.yaml:2:9: listen: expected a tcp://HOST:PORT endpoint, PORT 1 to 65532, such as "
          "tcp://0.0.0.0:7700, got 'tcp://0.0.0.0:65535'" },
        //  PORT + 3 (the snapshot service) must exist too.
        { "keys: ./keys\n"
          "listen: tcp://0.0.0.0:65533\n",
          "bad.yaml:2:9: listen: expected a tcp://HOST:PORT endpoint, PORT 1 to 65532, such as "
          "tcp://0.0.0.0:7700, got 'tcp://0.0.0.0:65533'" },
        { "workers:\n"
          "  mode: fibres\n",
          "bad.yaml:2:9: mode: expected threads or processes, got 'fibres'" },
        { "workers:\n"
          "  pingers: 65\n",
          "bad.yaml:2:12: pingers: expected a whole number from 0 to 64, got '65'" },
        { "workers:\n"
          "  threads: 2\n",
          "bad.yaml:2:3: unknown key 'threads' in workers; expected one of: mode, pingers" },
        { "workers: 2\n",
          "bad.yaml:1:10: workers: expected a mapping such as '{ mode: threads, pingers: 2 }', "
          "got '2'" },
        { "workers:\n"
          "  pingers: 0\n",
          "bad.yaml:2:12: pingers: 0 means remote pingers only, which needs listen: "
          "(tcp://HOST:PORT) for them to connect to" },
        { "heartbeat: 50ms\n",
          "bad.yaml:1:12: heartbeat: expected a duration from 100ms to 1m, got '50ms'" },
        { "owners:\n"
          "  a-name-that-is-longer-than-sixty-four-bytes-which-no-message-can-carry:\n"
          "    webhook: https://hooks.example.com/x\n",
          "bad.yaml:2:3: owner 'a-name-that-is-longer-than-sixty-four-bytes-which-no-message': "
          "expected a name of at most 64 bytes, got 70" },
        { "defaults:\n"
          "  interval: 5m\n"
          "  retries: 3\n",
          "bad.yaml:3:3: unknown key 'retries' in defaults; expected one of: interval, timeout, "
          "method, failure_threshold, success_threshold, accept, keyword, max_latency, "
          "max_redirects, tls_verify, remind_every, flap_changes, flap_window, cert_warn_days, "
          "maintenance, regions, quorum" },
        { "defaults:\n"
          "  url: https://example.com/\n",
          "bad.yaml:2:3: unknown key 'url' in defaults; expected one of: interval, timeout, "
          "method, failure_threshold, success_threshold, accept, keyword, max_latency, "
          "max_redirects, tls_verify, remind_every, flap_changes, flap_window, cert_warn_days, "
          "maintenance, regions, quorum" },
        { "sites:\n"
          "  - url: https://example.com/\n"
          "    intervall: 1m\n",
          "bad.yaml:3:5: unknown key 'intervall' in site; expected one of: url, owner, "
          "interval, timeout, method, failure_threshold, success_threshold, accept, keyword, "
          "max_latency, max_redirects, tls_verify, remind_every, flap_changes, flap_window, "
          "cert_warn_days, maintenance, regions, quorum" },
        { "owners:\n"
          "  alice:\n"
          "    webhook: https://hooks.example.com/alice\n"
          "    sms: +100\n",
          "bad.yaml:4:5: unknown key 'sms' in owner 'alice'; expected one of: email, webhook, "
          "webhook_template, slack, discord, command, quiet, maintenance, notify_degraded" },
        { "defaults:\n"
          "  interval: 5m\n"
          "  interval: 1m\n",
          "bad.yaml:3:3: duplicate key 'interval' in defaults: expected each key once, "
          "got it first on line 2" },
        //  Bad values.
        { "data_dir: ./data\n"
          "feed: ipc:///tmp/test.feed\n"
          "defaults:\n"
          "  interval: 5m\n"
          "owners:\n"
          "  alice:\n"
          "    webhook: https://hooks.example.com/alice\n"
          "sites:\n"
          "  - url: https://example.com/\n"
          "    owner: alice\n"
          "  - url: https://example.org/\n"
          "    interval: 5 minutes\n",
          "bad.yaml:12:15: interval: expected a duration such as 500ms, 30s, 5m or 1h, "
          "got '5 minutes'" },
        { "defaults:\n"
          "  interval: 5s\n",
          "bad.yaml:2:13: interval: expected a duration from 10s to 24h, got '5s'" },
        { "defaults:\n"
          "  interval: 25h\n",
          "bad.yaml:2:13: interval: expected a duration from 10s to 24h, got '25h'" },
        { "defaults:\n"
          "  interval: 300\n",
          "bad.yaml:2:13: interval: expected a duration such as 500ms, 30s, 5m or 1h, "
          "got '300'" },
        { "defaults:\n"
          "  timeout: 0s\n",
          "bad.yaml:2:12: timeout: expected a duration above 0 and at most 10m, got '0s'" },
        { "sites:\n"
          "  - url: https://example.com/\n"
          "    timeout: 10m1ms\n",
          "bad.yaml:3:14: timeout: expected a duration above 0 and at most 10m, got '10m1ms'" },
        { "defaults:\n"
          "  max_latency: 11m\n",
          "bad.yaml:2:16: max_latency: expected a duration from 0 (no limit) to 10m, got '11m'" },
        { "sites:\n"
          "  - url: https://example.com/\n"
          "    method: POST\n",
          "bad.yaml:3:13: method: expected HEAD or GET, got 'POST'" },
        { "sites:\n"
          "  - url: https://example.com/\n"
          "    accept: 2xx\n",
          "bad.yaml:3:13: accept: expected status ranges such as 200-399 or 200,301-302, "
          "got '2xx'" },
        { "defaults:\n"
          "  accept: 400-200\n",
          "bad.yaml:2:11: accept: expected status ranges such as 200-399 or 200,301-302, "
          "got '400-200'" },
        { "defaults:\n"
          "  failure_threshold: 0\n",
          "bad.yaml:2:22: failure_threshold: expected a whole number from 1 to 100, got '0'" },
        { "defaults:\n"
          "  success_threshold: 101\n",
          "bad.yaml:2:22: success_threshold: expected a whole number from 1 to 100, got '101'" },
        { "defaults:\n"
          "  success_threshold: -1\n",
          "bad.yaml:2:22: success_threshold: expected a whole number from 1 to 100, got '-1'" },
        { "defaults:\n"
          "  max_redirects: 51\n",
          "bad.yaml:2:18: max_redirects: expected a whole number from 0 to 50, got '51'" },
        { "defaults:\n"
          "  tls_verify: maybe\n",
          "bad.yaml:2:15: tls_verify: expected true or false, got 'maybe'" },
        { "data_dir:\n",
          "bad.yaml:1:10: data_dir: expected a folder name, got nothing" },
        { "feed: /tmp/squirrel.feed\n",
          "bad.yaml:1:7: feed: expected a ZeroMQ endpoint such as ipc:///var/lib/squirrel/feed, "
          "got '/tmp/squirrel.feed'" },
        //  URLs: the reason comes from sq_url_check.
        { "sites:\n"
          "  - url: ftp://example.com/file\n",
          "bad.yaml:2:10: url: scheme 'ftp' is not monitored: only http and https" },
        { "sites:\n"
          "  - url: example.com\n",
          "bad.yaml:2:10: url: 'example.com' has no scheme: write http:// or https://" },
        { "sites:\n"
          "  - url: \"\"\n",
          "bad.yaml:2:10: url: empty URL" },
        { "owners:\n"
          "  alice:\n"
          "    webhook: mailto:alice@example.com\n",
          "bad.yaml:3:14: webhook: 'mailto:alice@example.com' has no scheme: "
          "write http:// or https://" },
        //  Missing keys, unknown names, duplicates.
        { "sites:\n"
          "  - url: https://example.com/\n"
          "  - owner: alice\n"
          "    interval: 1m\n"
          "owners:\n"
          "  alice:\n"
          "    webhook: https://hooks.example.com/alice\n",
          "bad.yaml:3:5: site: expected a url key (url: https://...), got none" },
        { "owners:\n"
          "  alice:\n"
          "    webhook: https://hooks.example.com/alice\n"
          "sites:\n"
          "  - url: https://example.com/\n"
          "    owner: bob\n",
          "bad.yaml:6:12: owner: expected an owner declared under owners, got 'bob'" },
        { "sites:\n"
          "  - url: https://example.com/\n"
          "    owner: alice\n",
          "bad.yaml:3:12: owner: expected an owner declared under owners, got 'alice'" },
        { "sites:\n"
          "  - url: https://example.com/\n"
          "  - interval: 1m\n"
          "    url: https://example.org/\n"
          "  - url: https://example.net/\n"
          "  - url: https://example.org/\n",
          "bad.yaml:6:10: site URL 'https://example.org/' is the same site as "
          "bad.yaml:4:10 ('https://example.org/')" },
        { "owners:\n"
          "  alice: { webhook: https://hooks.example.com/a }\n"
          "  alice: { webhook: https://hooks.example.com/b }\n",
          "bad.yaml:3:3: duplicate key 'alice' in owners: expected each key once, "
          "got it first on line 2" },
        //  Wrong node types.
        { "- https://example.com/\n",
          "bad.yaml:1:1: expected a mapping with keys such as data_dir, defaults, owners "
          "and sites, got a list" },
        { "sites:\n"
          "  url: https://example.com/\n",
          "bad.yaml:2:3: sites: expected a list of sites such as '- url: https://example.com/', "
          "got a mapping" },
        { "sites:\n"
          "  - https://example.com/\n",
          "bad.yaml:2:5: site: expected a mapping such as 'url: https://example.com/', "
          "got 'https://example.com/'" },
        { "defaults:\n"
          "  - interval: 5m\n",
          "bad.yaml:2:3: defaults: expected a mapping such as 'interval: 5m', got a list" },
        { "defaults:\n"
          "  interval: [5m]\n",
          "bad.yaml:2:13: interval: expected a duration such as 500ms, 30s, 5m or 1h, "
          "got a list" },
        { "defaults:\n"
          "  keyword: { text: Welcome }\n",
          "bad.yaml:2:12: keyword: expected text, got a mapping" },
        { "owners:\n"
          "  alice: https://hooks.example.com/alice\n",
          "bad.yaml:2:10: owner 'alice': expected a mapping such as 'webhook: https://...', "
          "got 'https://hooks.example.com/alice'" },
        { "owners:\n"
          "  - alice\n",
          "bad.yaml:2:3: owners: expected a mapping of names such as "
          "'alice: { webhook: https://... }', got a list" },
        { "data_dir: [a, b]\n",
          "bad.yaml:1:11: data_dir: expected a folder name, got a list" },
        { "just some words\n",
          "bad.yaml:1:1: expected a mapping with keys such as data_dir, defaults, owners "
          "and sites, got 'just some words'" },
        { "---\n",
          "bad.yaml:2:1: expected a mapping with keys such as data_dir, defaults, owners "
          "and sites, got nothing" },
        { "? [a, b]\n"
          ": c\n",
          "bad.yaml:1:3: expected a key name, got a list" },
        //  YAML syntax, and what we refuse of YAML.
        { "defaults:\n"
          "  interval: 5m\n"
          "  timeout: 20s: 30s\n",
          "bad.yaml:3:15: invalid YAML: mapping values are not allowed in this context" },
        { "sites:\n"
          "  - url: https://example.com/\n"
          "    keyword: \"Welcome\n",
          "bad.yaml:4:1: invalid YAML: found unexpected end of stream "
          "(while scanning a quoted scalar at line 3, column 14)" },
        { "sites:\n"
          "  - url: https://example.com/\n"
          "    interval: 1m\n"
          "   timeout: 5s\n",
          "bad.yaml:4:4: invalid YAML: did not find expected '-' indicator "
          "(while parsing a block collection at line 2, column 3)" },
        { "defaults: &common\n"
          "  interval: 5m\n",
          "bad.yaml:1:11: expected a plain value, got anchor '&common' "
          "(anchors and aliases are not supported)" },
        { "defaults:\n"
          "  interval: *often\n",
          "bad.yaml:2:13: expected a value written out, got alias '*often' "
          "(anchors and aliases are not supported)" },
        { "data_dir: a\n"
          "---\n"
          "data_dir: b\n",
          "bad.yaml:2:1: expected one YAML document, got a second one" },
        { "keyword: \"a\\0b\"\n",
          "bad.yaml:1:10: expected text, got a NUL character" },
        //  Nothing in the file.
        { "",
          "bad.yaml:1:1: expected a YAML mapping with sites, or a list of URLs one per line, "
          "got no content" },
        { "# only a comment\n"
          "\n"
          "   # and another\n",
          "bad.yaml:1:1: expected a YAML mapping with sites, or a list of URLs one per line, "
          "got no content" },
    };
    for (size_t index = 0; index < sizeof (cases) / sizeof (cases [0]); index++)
        s_expect_error (cases [index].text, cases [index].error);
}

//  Errors that need more than a short text to make.
static void
test_more_errors (void **state)
{
    //  Unreadable files: missing, a folder.
    char error [512] = "";
    assert_null (config_load ("missing.yaml", error, sizeof (error)));
    assert_string_equal (error, "missing.yaml: cannot read: No such file or directory");
    assert_int_equal (mkdir ("folder.yaml", 0700), 0);
    assert_null (config_load ("folder.yaml", error, sizeof (error)));
    assert_string_equal (error, "folder.yaml: cannot read: Is a directory");

    //  A keyword one byte too long; SQ_KEYWORD_MAX bytes is fine.
    char text [SQ_KEYWORD_MAX + 64];
    snprintf (text, sizeof (text), "defaults:\n  keyword: %0*d\n", SQ_KEYWORD_MAX + 1, 0);
    s_expect_error (text, "bad.yaml:2:12: keyword: expected at most 256 bytes, got 257");
    snprintf (text, sizeof (text), "defaults:\n  keyword: %0*d\n", SQ_KEYWORD_MAX, 0);
    config_t *config = s_load ("keyword.yaml", text);
    assert_int_equal (strlen (config->defaults.keyword), SQ_KEYWORD_MAX);
    config_destroy (&config);

    //  A NUL byte: a binary file.
    s_write_bytes ("bad.yaml", "data_dir: x\nfeed\0: y\n", 20);
    assert_null (config_load ("bad.yaml", error, sizeof (error)));
    assert_string_equal (error, "bad.yaml:2:5: expected text, got a NUL byte");

    //  Bad bytes for UTF-8: libyaml's reader, located by byte offset.
    s_expect_error ("data_dir: ./d\nfeed: \xff\n",
                    "bad.yaml:2:7: invalid YAML: invalid leading UTF-8 octet (byte 0xFF)");

    //  A long value is quoted shortened.
    snprintf (text, sizeof (text), "defaults:\n  method: %0*d\n", 100, 0);
    s_write ("bad.yaml", text);
    assert_null (config_load ("bad.yaml", error, sizeof (error)));
    assert_non_null (strstr (error, "bad.yaml:2:11: method: expected HEAD or GET, got '000"));
    assert_non_null (strstr (error, "000...'"));
    assert_true (strlen (error) < 120);

    //  A small buffer gets a cut, terminated message; none at all is fine.
    char small [16];
    memset (small, 'x', sizeof (small));
    assert_null (config_load ("bad.yaml", small, sizeof (small)));
    assert_string_equal (small, "bad.yaml:2:11: ");
    assert_null (config_load ("bad.yaml", NULL, 0));
    assert_null (config_load ("missing.yaml", small, sizeof (small)));
    assert_string_equal (small, "missing.yaml: c");

    //  Many sites: the URL index grows, and a duplicate at the end still
    //  names the line of the first one.
    size_t count = 3000, size = count * 64 + 64, used = 0;
    char *big = malloc (size);
    assert_non_null (big);
    used += (size_t) snprintf (big + used, size - used, "sites:\n");
    for (size_t index = 0; index < count; index++)
        used += (size_t) snprintf (big + used, size - used,
                                   "  - url: https://site%zu.example/\n", index);
    config = s_load ("many.yaml", big);
    assert_int_equal (config->site_count, count);
    assert_string_equal (config->sites [count - 1].url, "https://site2999.example/");
    assert_int_equal (config->sites [count - 1].line, 3001);
    assert_ptr_equal (config_site_by_url (config, "https://site1234.example/"),
                      &config->sites [1234]);
    config_destroy (&config);
    snprintf (big + used, size - used, "  - url: https://site1234.example/\n");
    s_expect_error (big, "bad.yaml:3002:10: site URL 'https://site1234.example/' is the same "
                         "site as bad.yaml:1236:10 ('https://site1234.example/')");
    free (big);
}

static void
test_new_empty_and_add_site (void **state)
{
    config_t *config = config_new_empty ();
    assert_non_null (config);
    assert_null (config->path);
    assert_string_equal (config->data_dir, "./squirrel-data");
    assert_null (config->feed);            //  ipc://<data_dir>/feed at run time
    assert_int_equal (config->site_count, 0);
    assert_int_equal (config->owner_count, 0);
    assert_int_equal (config->defaults.interval_ms, 300000);
    assert_int_equal (config->defaults.max_redirects, 10);

    char error [256] = "";
    assert_int_equal (config_add_site (config, "https://example.com/", error, sizeof (error)), 0);
    config->defaults.interval_ms = 60000;       //  the caller may change defaults
    assert_int_equal (config_add_site (config, "http://example.org/", error, sizeof (error)), 0);
    assert_int_equal (config->site_count, 2);
    const config_site_t *site = config_site_by_url (config, "https://example.com/");
    assert_ptr_equal (site, &config->sites [0]);
    assert_int_equal (site->interval_ms, 300000);
    assert_int_equal (site->timeout_ms, 20000);
    assert_int_equal (site->method, SQ_METHOD_HEAD);
    assert_string_equal (site->keyword, "");
    assert_true (site->tls_verify);
    assert_int_equal (site->line, 0);
    assert_null (site->owner);
    assert_int_equal (config->sites [1].interval_ms, 60000);

    assert_int_equal (config_add_site (config, "ftp://example.com/", error, sizeof (error)), -1);
    assert_string_equal (error, "scheme 'ftp' is not monitored: only http and https");
    assert_int_equal (config_add_site (config, "https://example.com/", error, sizeof (error)),
                      -1);
    assert_string_equal (error, "'https://example.com/' is already in the config");
    assert_int_equal (config->site_count, 2);
    config_destroy (&config);

    //  Adding to a loaded config names the line of the one there.
    config = s_load ("list.txt", "# two\nhttps://example.com/\n");
    assert_int_equal (config_add_site (config, "https://example.com/", error, sizeof (error)),
                      -1);
    assert_string_equal (error, "'https://example.com/' is already in the config "
                                "(list.txt line 2)");
    assert_int_equal (config_add_site (config, "https://example.net/", error, sizeof (error)), 0);
    assert_int_equal (config->site_count, 2);
    config_destroy (&config);
}

//  The example config `make run` uses stays loadable.
static void
test_deploy_example (void **state)
{
    //  CMake compiles this file by its absolute path, SOURCE/tests/test_config.c.
    char path [PATH_MAX];
    snprintf (path, sizeof (path), "%s", __FILE__);
    char *tests = strstr (path, "/tests/test_config.c");
    assert_non_null (tests);
    snprintf (tests, sizeof (path) - (size_t) (tests - path), "/deploy/squirrel.yaml");
    char error [512] = "";
    config_t *config = config_load (path, error, sizeof (error));
    if (!config)
        fail_msg ("%s", error);
    assert_true (config->site_count > 0);
    config_destroy (&config);
}

//  --------------------------------------------------------------------------
//  Notifications (issue 10)

#define T_2026_12_01_0200Z  1796090400      //  2026-12-01T02:00Z in unix seconds

//  Write text to name, then give it mode.
static void
s_write_mode (const char *name, const char *text, mode_t mode)
{
    s_write (name, text);
    assert_int_equal (chmod (name, mode), 0);
}

static void
test_notify_keys (void **state)
{
    s_write_mode ("smtp.pw", "secret\n", 0600);
    s_write_mode ("mail-ca.pem", "-----BEGIN CERTIFICATE-----\n", 0644);
    s_write_mode ("page.sh", "#!/bin/sh\nexit 0\n", 0755);
    char text [PATH_MAX + 4096];
    snprintf (text, sizeof (text),
        "smtp:\n"
        "  url: smtps://mail.example.com:465\n"
        "  from: squirrel@example.com\n"
        "  user: squirrel\n"
        "  password_file: smtp.pw\n"
        "  ca_file: mail-ca.pem\n"
        "digest_after: 7\n"
        "digest_window: 2m\n"
        "give_up_after: 2d12h\n"
        "retry_max: 10m\n"
        "defaults:\n"
        "  remind_every: 1w\n"
        "  flap_changes: 0\n"
        "  flap_window: 1d\n"
        "  cert_warn_days: [3, 30, 14, 3]\n"
        "  maintenance:\n"
        "    - start: 2026-12-01T02:00Z\n"
        "      end: 2026-12-01T04:00Z\n"
        "      every: 1w\n"
        "owners:\n"
        "  alice:\n"
        "    email: alice@example.com\n"
        "    webhook: https://hooks.example.com/x\n"
        "    webhook_template: '{\"to\":\"+100\",\"text\":\"{{url}} is {{state}}\"}'\n"
        "    slack: https://hooks.slack.com/services/T0/B0/x\n"
        "    discord: https://discord.com/api/webhooks/1/x\n"
        "    command: %s/page.sh\n"
        "    quiet: true\n"
        "    maintenance:\n"
        "      - { start: \"2026-12-01T03:00:30+01:00\", duration: 90m }\n"
        "  bob: {}\n"
        "  carol:\n"
        "sites:\n"
        "  - url: https://a.example/\n"
        "    owner: alice\n"
        "  - url: https://b.example/\n"
        "    owner: bob\n"
        "    remind_every: 0\n"
        "    flap_changes: 100\n"
        "    flap_window: 0\n"
        "    cert_warn_days: [7]\n"
        "    maintenance: []\n"
        "  - url: https://c.example/\n"
        "    owner: carol\n"
        "    maintenance:\n"
        "      - start: 2027-01-01T00:00-05:30\n"
        "        end: 2027-01-31T00:00-05:30\n", s_folder);
    config_t *config = s_load ("notify.yaml", text);

    //  smtp, and the settings that point at its strings.
    assert_string_equal (config->smtp.url, "smtps://mail.example.com:465");
    assert_string_equal (config->smtp.from, "squirrel@example.com");
    assert_string_equal (config->smtp.user, "squirrel");
    assert_string_equal (config->smtp.password_file, "smtp.pw");
    assert_string_equal (config->smtp.ca_file, "mail-ca.pem");
    const notifier_settings_t *notify = &config->notify;
    assert_ptr_equal (notify->smtp_url, config->smtp.url);
    assert_ptr_equal (notify->smtp_from, config->smtp.from);
    assert_ptr_equal (notify->smtp_user, config->smtp.user);
    assert_ptr_equal (notify->smtp_password_file, config->smtp.password_file);
    assert_ptr_equal (notify->smtp_ca_file, config->smtp.ca_file);
    assert_int_equal (notify->digest_after, 7);
    assert_int_equal (notify->digest_window_ms, 120000);
    assert_int_equal (notify->give_up_ms, 216000000);
    assert_int_equal (notify->retry_max_ms, 600000);
    assert_int_equal (notify->retry_first_ms, SQ_NOTIFY_BACKOFF_MS);
    assert_int_equal (notify->timeout_ms, SQ_NOTIFY_TIMEOUT_MS);

    //  Owners: every channel; none at all is fine too.
    assert_int_equal (config->owner_count, 3);
    const config_owner_t *alice = config_owner (config, "alice");
    assert_non_null (alice);
    assert_string_equal (alice->email, "alice@example.com");
    assert_string_equal (alice->webhook, "https://hooks.example.com/x");
    assert_string_equal (alice->webhook_template,
                         "{\"to\":\"+100\",\"text\":\"{{url}} is {{state}}\"}");
    assert_string_equal (alice->slack, "https://hooks.slack.com/services/T0/B0/x");
    assert_string_equal (alice->discord, "https://discord.com/api/webhooks/1/x");
    char command [PATH_MAX + 16];
    snprintf (command, sizeof (command), "%s/page.sh", s_folder);
    assert_string_equal (alice->command, command);
    assert_true (alice->quiet);
    assert_int_equal (alice->maintenance.count, 1);
    assert_int_equal (alice->maintenance.window [0].start_s, T_2026_12_01_0200Z + 30);
    assert_int_equal (alice->maintenance.window [0].length_s, 5400);
    assert_int_equal (alice->maintenance.window [0].every_s, 0);
    for (size_t index = 1; index < 3; index++) {
        const config_owner_t *owner = &config->owners [index];
        assert_string_equal (owner->name, index == 1 ? "bob" : "carol");
        assert_null (owner->email);
        assert_null (owner->webhook);
        assert_null (owner->webhook_template);
        assert_null (owner->slack);
        assert_null (owner->discord);
        assert_null (owner->command);
        assert_false (owner->quiet);
        assert_int_equal (owner->maintenance.count, 0);
    }

    //  Defaults: cert_warn_days sorted, largest first, each once.
    const config_site_t *defaults = &config->defaults;
    assert_int_equal (defaults->remind_every_ms, 604800000);
    assert_int_equal (defaults->flap_changes, 0);
    assert_int_equal (defaults->flap_window_ms, 86400000);
    assert_int_equal (defaults->cert_warn_days.count, 3);
    assert_int_equal (defaults->cert_warn_days.day [0], 30);
    assert_int_equal (defaults->cert_warn_days.day [1], 14);
    assert_int_equal (defaults->cert_warn_days.day [2], 3);
    assert_int_equal (defaults->maintenance.count, 1);
    assert_int_equal (defaults->maintenance.window [0].start_s, T_2026_12_01_0200Z);
    assert_int_equal (defaults->maintenance.window [0].length_s, 7200);
    assert_int_equal (defaults->maintenance.window [0].every_s, 604800);

    //  a takes every default; b sets its own; c's maintenance replaces
    //  the defaults' whole.
    const config_site_t *site = &config->sites [0];
    assert_int_equal (site->remind_every_ms, 604800000);
    assert_int_equal (site->flap_changes, 0);
    assert_int_equal (site->flap_window_ms, 86400000);
    assert_memory_equal (&site->cert_warn_days, &defaults->cert_warn_days, sizeof (sq_days_t));
    assert_memory_equal (&site->maintenance, &defaults->maintenance, sizeof (sq_windows_t));
    site = &config->sites [1];
    assert_int_equal (site->remind_every_ms, 0);
    assert_int_equal (site->flap_changes, 100);
    assert_int_equal (site->flap_window_ms, 0);
    assert_int_equal (site->cert_warn_days.count, 1);
    assert_int_equal (site->cert_warn_days.day [0], 7);
    assert_int_equal (site->maintenance.count, 0);
    site = &config->sites [2];
    assert_int_equal (site->maintenance.count, 1);
    assert_int_equal (site->maintenance.window [0].start_s, 1798781400);  //  2027-01-01T05:30Z
    assert_int_equal (site->maintenance.window [0].length_s, 30 * 86400);
    assert_int_equal (site->maintenance.window [0].every_s, 0);
    assert_int_equal (site->remind_every_ms, 604800000);
    config_destroy (&config);

    //  Without any of it: the built-in values, no smtp.
    config = s_load ("plain.yaml", "owners:\n  alice: {}\nsites:\n  - url: https://a.example/\n"
                                   "    owner: alice\n");
    assert_null (config->smtp.url);
    assert_null (config->notify.smtp_url);
    assert_null (config->notify.smtp_from);
    assert_int_equal (config->notify.digest_after, SQ_NOTIFY_DIGEST_AFTER);
    assert_int_equal (config->notify.digest_window_ms, SQ_NOTIFY_DIGEST_WINDOW_MS);
    assert_int_equal (config->notify.give_up_ms, SQ_NOTIFY_GIVE_UP_MS);
    assert_int_equal (config->notify.retry_max_ms, SQ_NOTIFY_RETRY_MAX_MS);
    assert_null (config->owners [0].webhook);
    s_assert_built_in (&config->defaults);
    s_assert_built_in (&config->sites [0]);
    config_destroy (&config);

    //  The limits themselves are accepted.
    config = s_load ("limits.yaml",
        "digest_after: 100000\n"
        "digest_window: 1s\n"
        "give_up_after: 7d\n"
        "retry_max: 1h\n"
        "defaults:\n"
        "  remind_every: 7d\n"
        "  flap_window: 24h\n"
        "  cert_warn_days: [3650, 1, 2, 3]\n"
        "  maintenance:\n"
        "    - { start: 1970-01-01T00:00Z, duration: 31d, every: 366d }\n"
        "    - { start: 2026-12-01T02:00Z, end: 2027-01-01T02:00Z }\n"
        "    - { start: 2026-12-01T02:00Z, duration: 1s, every: 1s }\n"
        "    - { start: 2026-12-01T02:00Z, duration: 1h }\n");
    assert_int_equal (config->notify.digest_after, 100000);
    assert_int_equal (config->notify.give_up_ms, 604800000);
    assert_int_equal (config->defaults.remind_every_ms, SQ_REMIND_MAX_MS);
    assert_int_equal (config->defaults.cert_warn_days.day [0], 3650);
    assert_int_equal (config->defaults.cert_warn_days.day [3], 1);
    assert_int_equal (config->defaults.maintenance.count, 4);
    assert_int_equal (config->defaults.maintenance.window [0].start_s, 0);
    assert_int_equal (config->defaults.maintenance.window [0].length_s, SQ_WINDOW_LENGTH_MAX);
    assert_int_equal (config->defaults.maintenance.window [0].every_s, SQ_WINDOW_EVERY_MAX);
    assert_int_equal (config->defaults.maintenance.window [1].length_s, SQ_WINDOW_LENGTH_MAX);
    config_destroy (&config);
}

static void
test_notify_errors (void **state)
{
    struct { const char *text; const char *error; } cases [] = {
        //  smtp
        { "smtp:\n"
          "  url: http://mail.example.com\n"
          "  from: squirrel@example.com\n",
          "bad.yaml:2:8: url: expected an smtp:// or smtps:// URL such as "
          "smtps://mail.example.com:465, got 'http://mail.example.com'" },
        { "smtp:\n"
          "  url: smtps://\n"
          "  from: squirrel@example.com\n",
          "bad.yaml:2:8: url: expected an smtp:// or smtps:// URL such as "
          "smtps://mail.example.com:465, got 'smtps://'" },
        { "smtp:\n"
          "  url: smtps://me:secret@mail.example.com\n"
          "  from: squirrel@example.com\n",
          "bad.yaml:2:8: url: expected no password in the URL (put it in password_file), "
          "got one" },
        { "smtp:\n"
          "  url: smtp://mail.example.com\n",
          "bad.yaml:2:3: smtp: expected a from key (from: squirrel@example.com), got none" },
        { "smtp:\n"
          "  from: squirrel@example.com\n",
          "bad.yaml:2:3: smtp: expected a url key (url: smtps://mail.example.com:465), "
          "got none" },
        { "smtp:\n"
          "  url: smtp://mail.example.com\n"
          "  port: 25\n",
          "bad.yaml:3:3: unknown key 'port' in smtp; expected one of: url, from, user, "
          "password_file, ca_file" },
        { "smtp: smtps://mail.example.com\n",
          "bad.yaml:1:7: smtp: expected a mapping such as '{ url: smtps://mail.example.com:465, "
          "from: squirrel@example.com }', got 'smtps://mail.example.com'" },
        { "smtp:\n"
          "  url: smtp://mail.example.com\n"
          "  from: <squirrel@example.com>\n",
          "bad.yaml:3:9: from: expected an address such as alice@example.com, without spaces, "
          "CR, LF, <, > or quotes, got '<' as character 1" },
        { "smtp:\n"
          "  url: smtp://mail.example.com\n"
          "  from: squirrel@example.com\n"
          "  user: \"squirrel\\r\\nQUIT\"\n",
          "bad.yaml:4:9: user: expected a user name, got a control character (byte 0x0D) "
          "as character 9" },
        { "smtp:\n"
          "  url: smtp://mail.example.com\n"
          "  from: squirrel@example.com\n"
          "  password_file: missing.pw\n",
          "bad.yaml:4:18: password_file: expected a file only its owner can read, got "
          "'missing.pw': No such file or directory" },
        { "smtp:\n"
          "  url: smtp://mail.example.com\n"
          "  from: squirrel@example.com\n"
          "  ca_file: missing.pem\n",
          "bad.yaml:4:12: ca_file: expected a file we can read, got 'missing.pem': "
          "No such file or directory" },
        //  Owners' channels
        { "owners:\n"
          "  alice:\n"
          "    email: alice@example.com\n",
          "bad.yaml:3:5: email: expected an smtp section at top level to send it through "
          "(smtp: { url: ..., from: ... }), got none" },
        { "smtp: { url: smtps://mail.example.com, from: squirrel@example.com }\n"
          "owners:\n"
          "  alice:\n"
          "    email: \"alice@example.com\\r\\nBcc: eve@example.com\"\n",
          "bad.yaml:4:12: email: expected an address such as alice@example.com, without "
          "spaces, CR, LF, <, > or quotes, got a carriage return (CR) as character 18" },
        { "smtp: { url: smtps://mail.example.com, from: squirrel@example.com }\n"
          "owners:\n"
          "  alice:\n"
          "    email: \"alice@example.com\\nBcc: eve@example.com\"\n",
          "bad.yaml:4:12: email: expected an address such as alice@example.com, without "
          "spaces, CR, LF, <, > or quotes, got a line feed (LF) as character 18" },
        { "smtp: { url: smtps://mail.example.com, from: squirrel@example.com }\n"
          "owners:\n"
          "  alice:\n"
          "    email: alice @example.com\n",
          "bad.yaml:4:12: email: expected an address such as alice@example.com, without "
          "spaces, CR, LF, <, > or quotes, got a space as character 6" },
        { "smtp: { url: smtps://mail.example.com, from: squirrel@example.com }\n"
          "owners:\n"
          "  alice:\n"
          "    email: '\"alice\"@example.com'\n",
          "bad.yaml:4:12: email: expected an address such as alice@example.com, without "
          "spaces, CR, LF, <, > or quotes, got a double quote as character 1" },
        { "smtp: { url: smtps://mail.example.com, from: squirrel@example.com }\n"
          "owners:\n"
          "  alice:\n"
          "    email: alice\n",
          "bad.yaml:4:12: email: expected an address local@domain such as alice@example.com, "
          "got 'alice'" },
        { "smtp: { url: smtps://mail.example.com, from: squirrel@example.com }\n"
          "owners:\n"
          "  alice:\n"
          "    email: alice@example.com,eve@example.com\n",
          "bad.yaml:4:12: email: expected an address local@domain such as alice@example.com, "
          "got 'alice@example.com,eve@example.com'" },
        { "smtp: { url: smtps://mail.example.com, from: squirrel@example.com }\n"
          "owners:\n"
          "  alice:\n"
          "    email: alice@example..com\n",
          "bad.yaml:4:12: email: expected an address local@domain such as alice@example.com, "
          "got 'alice@example..com'" },
        { "owners:\n"
          "  alice:\n"
          "    webhook_template: '{{url}}'\n",
          "bad.yaml:3:5: webhook_template: expected a webhook beside it to use it "
          "(webhook: https://...), got none" },
        //  A template's mistake at its own character: quoted, plain, after
        //  characters of two bytes; with escapes, at the value.
        { "owners:\n"
          "  alice:\n"
          "    webhook: https://hooks.example.com/x\n"
          "    webhook_template: '{\"text\":\"{{url}} is {{nope}}\"}'\n",
          "bad.yaml:4:44: webhook_template: unknown placeholder {{nope}}: expected one of id, "
          "kind, url, state, previous, reason, detail, since, http_status, owner, count, "
          "subject, summary" },
        { "owners:\n"
          "  alice:\n"
          "    webhook_template: text={{url}}&x={{ bad }}\n"
          "    webhook: https://hooks.example.com/x\n",
          "bad.yaml:3:38: webhook_template: unknown placeholder {{bad}}: expected one of id, "
          "kind, url, state, previous, reason, detail, since, http_status, owner, count, "
          "subject, summary" },
        { "owners:\n"
          "  alice:\n"
          "    webhook: https://hooks.example.com/x\n"
          "    webhook_template: \"{\\\"t\\\":\\\"{{nope}}\\\"}\"\n",
          "bad.yaml:4:23: webhook_template: unknown placeholder {{nope}}: expected one of id, "
          "kind, url, state, previous, reason, detail, since, http_status, owner, count, "
          "subject, summary" },
        { "owners:\n"
          "  \xc3\xa9l\xc3\xa8ve:\n"
          "    webhook: https://hooks.example.com/x\n"
          "    webhook_template: '\xc3\xa9t\xc3\xa9: {{url'\n",
          "bad.yaml:4:29: webhook_template: '{{' without a closing '}}'" },
        { "owners:\n"
          "  alice:\n"
          "    slack: ftp://hooks.slack.com/x\n",
          "bad.yaml:3:12: slack: scheme 'ftp' is not monitored: only http and https" },
        { "owners:\n"
          "  alice:\n"
          "    discord: discord.com/api/webhooks/1/x\n",
          "bad.yaml:3:14: discord: 'discord.com/api/webhooks/1/x' has no scheme: "
          "write http:// or https://" },
        { "owners:\n"
          "  alice:\n"
          "    command: page-alice\n",
          "bad.yaml:3:14: command: expected an absolute path such as /usr/local/bin/page-alice, "
          "got 'page-alice'" },
        { "owners:\n"
          "  alice:\n"
          "    command: /nonexistent/page-alice\n",
          "bad.yaml:3:14: command: expected an executable file, got '/nonexistent/page-alice': "
          "No such file or directory" },
        { "owners:\n"
          "  alice:\n"
          "    command: /\n",
          "bad.yaml:3:14: command: expected an executable file, got '/': not a regular file" },
        { "owners:\n"
          "  alice:\n"
          "    quiet: maybe\n",
          "bad.yaml:3:12: quiet: expected true or false, got 'maybe'" },
        //  Maintenance windows
        { "defaults:\n"
          "  maintenance:\n"
          "    - start: 2026-12-01T04:00Z\n"
          "      end: 2026-12-01T02:00Z\n",
          "bad.yaml:4:12: end: expected a time after start (2026-12-01T04:00Z), "
          "got '2026-12-01T02:00Z'" },
        { "defaults:\n"
          "  maintenance:\n"
          "    - start: 2026-12-01T04:00Z\n"
          "      end: 2026-12-01T05:00+01:00\n",
          "bad.yaml:4:12: end: expected a time after start (2026-12-01T04:00Z), "
          "got '2026-12-01T05:00+01:00'" },
        { "defaults:\n"
          "  maintenance:\n"
          "    - start: 2026-12-01T04:00Z\n"
          "      end: 2027-01-01T04:00:01Z\n",
          "bad.yaml:4:12: end: expected at most 31d after start, got '2027-01-01T04:00:01Z', "
          "31d1s after it" },
        { "sites:\n"
          "  - url: https://example.com/\n"
          "    maintenance:\n"
          "      - { start: 2026-12-01T04:00Z, duration: 32d }\n",
          "bad.yaml:4:47: duration: expected a duration from 1s to 31d, got '32d'" },
        { "sites:\n"
          "  - url: https://example.com/\n"
          "    maintenance:\n"
          "      - { start: 2026-12-01T04:00Z, duration: 1500ms }\n",
          "bad.yaml:4:47: duration: expected a duration in whole seconds, got '1500ms'" },
        { "defaults:\n"
          "  maintenance:\n"
          "    - { start: 2026-12-01T02:00Z, duration: 2h, every: 1h }\n",
          "bad.yaml:3:56: every: expected a duration from the window's length (2h) to 366d, "
          "got '1h'" },
        { "defaults:\n"
          "  maintenance:\n"
          "    - { start: 2026-12-01T02:00Z, end: 2026-12-02T03:30Z, every: 1d }\n",
          "bad.yaml:3:66: every: expected a duration from the window's length (1d1h30m) "
          "to 366d, got '1d'" },
        { "defaults:\n"
          "  maintenance:\n"
          "    - { start: 2026-12-01T02:00Z, duration: 2h, every: 367d }\n",
          "bad.yaml:3:56: every: expected a duration from the window's length to 366d, "
          "got '367d'" },
        { "defaults:\n"
          "  maintenance:\n"
          "    - { start: 2026-13-01T02:00Z, duration: 2h }\n",
          "bad.yaml:3:16: start: expected a time such as 2026-12-01T02:00Z (UTC) or "
          "2026-12-01T03:00+01:00, got '2026-13-01T02:00Z'" },
        { "defaults:\n"
          "  maintenance:\n"
          "    - { start: '2026-12-01 02:00', duration: 2h }\n",
          "bad.yaml:3:16: start: expected a time such as 2026-12-01T02:00Z (UTC) or "
          "2026-12-01T03:00+01:00, got '2026-12-01 02:00'" },
        { "defaults:\n"
          "  maintenance:\n"
          "    - { start: 2026-12-01T02:00Z, end: 2026-12-01T03:00 }\n",
          "bad.yaml:3:40: end: expected a time such as 2026-12-01T02:00Z (UTC) or "
          "2026-12-01T03:00+01:00, got '2026-12-01T03:00'" },
        { "defaults:\n"
          "  maintenance:\n"
          "    - { start: 2026-12-01T02:00Z, duration: 1h }\n"
          "    - { start: 2026-12-02T02:00Z, duration: 1h }\n"
          "    - { start: 2026-12-03T02:00Z, duration: 1h }\n"
          "    - { start: 2026-12-04T02:00Z, duration: 1h }\n"
          "    - { start: 2026-12-05T02:00Z, duration: 1h }\n",
          "bad.yaml:7:7: maintenance: expected at most 4 windows, got 5" },
        { "defaults:\n"
          "  maintenance:\n"
          "    - { start: 2026-12-01T02:00Z, end: 2026-12-01T03:00Z, duration: 1h }\n",
          "bad.yaml:3:59: duration: expected end or duration, not both, got both" },
        { "defaults:\n"
          "  maintenance:\n"
          "    - { start: 2026-12-01T02:00Z, every: 1w }\n",
          "bad.yaml:3:7: maintenance: expected an end or a duration key "
          "(end: 2026-12-01T04:00Z, or duration: 2h), got neither" },
        { "defaults:\n"
          "  maintenance:\n"
          "    - { end: 2026-12-01T02:00Z }\n",
          "bad.yaml:3:7: maintenance: expected a start key (start: 2026-12-01T02:00Z), "
          "got none" },
        { "defaults:\n"
          "  maintenance:\n"
          "    - { start: 2026-12-01T02:00Z, length: 1h }\n",
          "bad.yaml:3:35: unknown key 'length' in maintenance window; expected one of: "
          "start, end, duration, every" },
        { "defaults:\n"
          "  maintenance: { start: 2026-12-01T02:00Z, duration: 1h }\n",
          "bad.yaml:2:16: maintenance: expected a list of windows such as "
          "'- { start: 2026-12-01T02:00Z, end: 2026-12-01T04:00Z }', got a mapping" },
        { "owners:\n"
          "  alice:\n"
          "    maintenance:\n"
          "      - 2026-12-01T02:00Z\n",
          "bad.yaml:4:9: maintenance: expected a window such as "
          "'{ start: 2026-12-01T02:00Z, end: 2026-12-01T04:00Z }', got '2026-12-01T02:00Z'" },
        //  cert_warn_days
        { "defaults:\n"
          "  cert_warn_days: [14, 0]\n",
          "bad.yaml:2:24: cert_warn_days: expected a whole number from 1 to 3650, got '0'" },
        { "sites:\n"
          "  - url: https://example.com/\n"
          "    cert_warn_days: [30, 14, 7, 3, 1]\n",
          "bad.yaml:3:36: cert_warn_days: expected at most 4 day counts, got 5" },
        { "defaults:\n"
          "  cert_warn_days: 14\n",
          "bad.yaml:2:19: cert_warn_days: expected a list of 1 to 4 day counts such as "
          "[14, 3], got '14'" },
        { "defaults:\n"
          "  cert_warn_days: []\n",
          "bad.yaml:2:19: cert_warn_days: expected a list of 1 to 4 day counts such as "
          "[14, 3], got an empty list" },
        { "defaults:\n"
          "  cert_warn_days: [3651]\n",
          "bad.yaml:2:20: cert_warn_days: expected a whole number from 1 to 3650, got '3651'" },
        //  Reminders, flapping, delivery settings
        { "defaults:\n"
          "  remind_every: 8d\n",
          "bad.yaml:2:17: remind_every: expected a duration from 0 (never) to 7d, got '8d'" },
        { "sites:\n"
          "  - url: https://example.com/\n"
          "    remind_every: 1w1ms\n",
          "bad.yaml:3:19: remind_every: expected a duration from 0 (never) to 7d, got '1w1ms'" },
        { "defaults:\n"
          "  flap_changes: 101\n",
          "bad.yaml:2:17: flap_changes: expected a whole number from 0 to 100, got '101'" },
        { "defaults:\n"
          "  flap_window: 25h\n",
          "bad.yaml:2:16: flap_window: expected a duration from 0 (off) to 1d, got '25h'" },
        { "digest_after: 0\n",
          "bad.yaml:1:15: digest_after: expected a whole number from 1 to 100000, got '0'" },
        { "digest_window: 2h\n",
          "bad.yaml:1:16: digest_window: expected a duration from 1s to 1h, got '2h'" },
        { "give_up_after: 1w1s\n",
          "bad.yaml:1:16: give_up_after: expected a duration from 1s to 7d, got '1w1s'" },
        { "retry_max: 0\n",
          "bad.yaml:1:12: retry_max: expected a duration from 1s to 1h, got '0'" },
    };
    for (size_t index = 0; index < sizeof (cases) / sizeof (cases [0]); index++)
        s_expect_error (cases [index].text, cases [index].error);

    //  A password file others may read is refused, with the fix; mode 600
    //  is fine.
    const char *smtp =
        "smtp:\n"
        "  url: smtp://mail.example.com:587\n"
        "  from: squirrel@example.com\n"
        "  password_file: open.pw\n";
    s_write_mode ("open.pw", "secret\n", 0644);
    s_expect_error (smtp, "bad.yaml:4:18: password_file: expected a file only its owner can "
                          "read, got 'open.pw': mode 0644 lets others in: chmod 600 open.pw");
    assert_int_equal (chmod ("open.pw", 0640), 0);
    s_expect_error (smtp, "bad.yaml:4:18: password_file: expected a file only its owner can "
                          "read, got 'open.pw': mode 0640 lets others in: chmod 600 open.pw");
    assert_int_equal (chmod ("open.pw", 0600), 0);
    config_t *config = s_load ("smtp.yaml", smtp);
    assert_string_equal (config->notify.smtp_password_file, "open.pw");
    assert_null (config->notify.smtp_user);
    config_destroy (&config);

    //  A command that is not executable; made executable, it loads.
    char text [PATH_MAX + 64], error [PATH_MAX + 256];
    s_write_mode ("page.sh", "#!/bin/sh\n", 0644);
    snprintf (text, sizeof (text), "owners:\n  alice:\n    command: %s/page.sh\n", s_folder);
    snprintf (error, sizeof (error), "bad.yaml:3:14: command: expected an executable file, "
              "got '%s/page.sh': not executable (chmod +x)", s_folder);
    s_expect_error (text, error);
    assert_int_equal (chmod ("page.sh", 0700), 0);
    config = s_load ("command.yaml", text);
    config_destroy (&config);

    //  A command path one byte too long, a template one byte too long.
    char *long_text = malloc (SQ_TEMPLATE_MAX + 128);
    assert_non_null (long_text);
    snprintf (long_text, SQ_TEMPLATE_MAX + 128, "owners:\n  alice:\n    command: /%0*d\n",
              SQ_COMMAND_MAX, 0);
    s_expect_error (long_text, "bad.yaml:3:14: command: expected at most 512 bytes, got 513");
    snprintf (long_text, SQ_TEMPLATE_MAX + 128,
              "owners:\n  alice:\n    webhook: https://h.example/\n    webhook_template: x%0*d\n",
              SQ_TEMPLATE_MAX, 0);
    s_expect_error (long_text, "bad.yaml:4:23: webhook_template: expected at most 1024 bytes, "
                               "got 1025");
    snprintf (long_text, SQ_TEMPLATE_MAX + 128,
              "owners:\n  alice:\n    slack: https://hooks.slack.com/%0*d\n",
              SQ_CHANNEL_URL_MAX - 23, 0);     //  24 bytes before the digits
    s_expect_error (long_text, "bad.yaml:3:12: slack: expected a URL of at most 1024 bytes, "
                               "got 1025");
    free (long_text);

    //  A ca_file that is a folder.
    assert_int_equal (mkdir ("ca.d", 0700), 0);
    s_expect_error ("smtp:\n  url: smtps://mail.example.com\n  from: a@example.com\n"
                    "  ca_file: ca.d\n",
                    "bad.yaml:4:12: ca_file: expected a file we can read, got 'ca.d': "
                    "not a regular file");
}

static void
test_times (void **state)
{
    struct { const char *text; int64_t unix_s; } good [] = {
        { "1970-01-01T00:00Z", 0 },
        { "2026-12-01T02:00Z", T_2026_12_01_0200Z },
        { "2026-12-01T02:00:59Z", T_2026_12_01_0200Z + 59 },
        { "2026-12-01T03:00+01:00", T_2026_12_01_0200Z },
        { "2026-11-30T21:00-05:00", T_2026_12_01_0200Z },
        { "2026-12-01T07:30+05:30", T_2026_12_01_0200Z },
        { "2026-12-01T02:00:00-00:00", T_2026_12_01_0200Z },
        { "2024-02-29T00:00Z", 1709164800 },
        { "1970-01-01T01:00+01:00", 0 },
    };
    for (size_t index = 0; index < sizeof (good) / sizeof (good [0]); index++) {
        int64_t unix_s = -1;
        if (config_time_parse (good [index].text, &unix_s))
            fail_msg ("'%s' refused", good [index].text);
        assert_int_equal (unix_s, good [index].unix_s);
    }
    const char *bad [] = {
        "", "2026-12-01T02:00", "2026-12-01 02:00Z", "2026-12-01t02:00Z", "2026-12-01T02:00z",
        "2026-12-1T02:00Z", "26-12-01T02:00Z", "2026-13-01T02:00Z", "2026-00-01T02:00Z",
        "2026-12-00T02:00Z", "2026-02-29T00:00Z", "1900-02-29T00:00Z", "2026-04-31T00:00Z",
        "2026-12-01T24:00Z", "2026-12-01T02:60Z", "2026-12-01T02:00:60Z", "2026-12-01T02:00:5Z",
        "2026-12-01T02:00+1:00", "2026-12-01T02:00+01", "2026-12-01T02:00+0100",
        "2026-12-01T02:00+24:00", "2026-12-01T02:00+01:60", "2026-12-01T02:00Z ",
        " 2026-12-01T02:00Z", "1969-12-31T23:59Z", "1970-01-01T00:30+01:00",
        "+2026-12-01T02:00Z", "2026-12-01T02Z", "2026-12-01", "2026-12-01T02:00ZZ", "2026",
        "2026-12-01T02:00:00.5Z",
    };
    for (size_t index = 0; index < sizeof (bad) / sizeof (bad [0]); index++) {
        int64_t unix_s = 12345;
        if (config_time_parse (bad [index], &unix_s) == 0)
            fail_msg ("'%s' accepted as %lld", bad [index], (long long) unix_s);
        assert_int_equal (unix_s, 12345);
    }
    int64_t unix_s;
    assert_int_equal (config_time_parse (NULL, &unix_s), -1);
}

//  regions, quorum, notify_degraded and canaries: accepted values, and
//  where each value comes from when a site sets one and defaults the other.
static void
test_regions (void **state)
{
    config_t *config = s_load ("regions.yaml",
        "canaries:\n"
        "  - https://canary1.example/\n"
        "  - http://canary2.example/health\n"
        "sites:\n"
        "  - url: https://a.example/            # both from defaults\n"
        "    owner: alice\n"
        "  - url: https://b.example/            # regions replaced, quorum 2 still fits\n"
        "    regions: [eu-west_1, US2]\n"
        "  - url: https://c.example/\n"
        "    regions:\n"
        "      - eu\n"
        "    quorum: 1\n"
        "  - url: https://d.example/            # quorum up to the defaults' three\n"
        "    quorum: 3\n"
        "defaults:\n"
        "  regions: [eu, us, asia]\n"
        "  quorum: 2\n"
        "owners:\n"
        "  alice: { webhook: https://hooks.example.com/a, notify_degraded: true }\n"
        "  bob: { notify_degraded: off }\n"
        "  carol:\n");
    assert_int_equal (config->canary_count, 2);
    assert_string_equal (config->canaries [0], "https://canary1.example/");
    assert_string_equal (config->canaries [1], "http://canary2.example/health");
    assert_string_equal (config->defaults.regions, "eu,us,asia");
    assert_int_equal (config->defaults.quorum, 2);
    assert_int_equal (config->site_count, 4);
    assert_string_equal (config->sites [0].regions, "eu,us,asia");
    assert_ptr_not_equal (config->sites [0].regions, config->defaults.regions);    //  a copy
    assert_int_equal (config->sites [0].quorum, 2);
    assert_string_equal (config->sites [1].regions, "eu-west_1,US2");
    assert_int_equal (config->sites [1].quorum, 2);
    assert_string_equal (config->sites [2].regions, "eu");
    assert_int_equal (config->sites [2].quorum, 1);
    assert_string_equal (config->sites [3].regions, "eu,us,asia");
    assert_int_equal (config->sites [3].quorum, 3);
    assert_true (config_owner (config, "alice")->notify_degraded);
    assert_false (config_owner (config, "bob")->notify_degraded);
    assert_false (config_owner (config, "carol")->notify_degraded);
    config_destroy (&config);

    //  Quorum without regions: every live region, decided at run time.
    //  No canaries; the most names, the longest name.
    char text [4096];
    int used = snprintf (text, sizeof (text), "canaries: []\ndefaults:\n  quorum: 16\n"
                         "sites:\n  - url: https://a.example/\n    regions: [");
    for (int index = 0; index < SQ_REGIONS_MAX; index++)
        used += snprintf (text + used, sizeof (text) - (size_t) used, "%sr%d",
                          index ? ", " : "", index);
    snprintf (text + used, sizeof (text) - (size_t) used,
              "]\n  - url: https://b.example/\n    regions: [%0*d]\n    quorum: 1\n",
              SQ_NAME_MAX, 7);
    config = s_load ("most.yaml", text);
    assert_int_equal (config->canary_count, 0);
    assert_null (config->canaries);
    assert_string_equal (config->defaults.regions, "");
    assert_int_equal (config->defaults.quorum, 16);
    assert_string_equal (config->sites [0].regions, "r0,r1,r2,r3,r4,r5,r6,r7,r8,r9,r10,r11,"
                                                    "r12,r13,r14,r15");
    assert_int_equal (config->sites [0].quorum, 16);
    assert_int_equal (strlen (config->sites [1].regions), SQ_NAME_MAX);
    config_destroy (&config);

    //  Built in, and in the plain list: every live region, a majority.
    config = s_load ("plain.txt", "https://a.example/\n");
    assert_string_equal (config->sites [0].regions, "");
    assert_int_equal (config->sites [0].quorum, 0);
    config_destroy (&config);
    config = config_new_empty ();
    assert_int_equal (config_add_site (config, "https://a.example/", text, sizeof (text)), 0);
    assert_string_equal (config->sites [0].regions, "");
    assert_int_equal (config->canary_count, 0);
    config_destroy (&config);
}

//  Each mistake in the region keys, at its line and column.
static void
test_region_errors (void **state)
{
    struct { const char *text; const char *error; } cases [] = {
        { "defaults:\n"
          "  regions: []\n",
          "bad.yaml:2:12: regions: expected a list of 1 to 16 region names such as [eu, us], "
          "got an empty list" },
        { "defaults:\n"
          "  regions: eu\n",
          "bad.yaml:2:12: regions: expected a list of 1 to 16 region names such as [eu, us], "
          "got 'eu'" },
        { "defaults:\n"
          "  regions: [eu, \"e u\"]\n",
          "bad.yaml:2:17: regions: expected a region name of 1 to 64 letters, digits, '-' or "
          "'_', got 'e u'" },
        //  A comma would split the name on the wire.
        { "sites:\n"
          "  - url: https://a.example/\n"
          "    regions:\n"
          "      - eu,us\n",
          "bad.yaml:4:9: regions: expected a region name of 1 to 64 letters, digits, '-' or "
          "'_', got 'eu,us'" },
        { "defaults:\n"
          "  regions: [eu, \"\"]\n",
          "bad.yaml:2:17: regions: expected a region name of 1 to 64 letters, digits, '-' or "
          "'_', got ''" },
        { "defaults:\n"
          "  regions: [eu, [us]]\n",
          "bad.yaml:2:17: regions: expected a region name of 1 to 64 letters, digits, '-' or "
          "'_', got a list" },
        { "defaults:\n"
          "  regions: [eu, us, eu]\n",
          "bad.yaml:2:21: regions: expected each region once, got 'eu' again" },
        //  0 written out is refused: leave quorum out for a majority.
        { "defaults:\n"
          "  quorum: 0\n",
          "bad.yaml:2:11: quorum: expected a whole number from 1 to 16, got '0'" },
        { "sites:\n"
          "  - url: https://a.example/\n"
          "    quorum: 17\n",
          "bad.yaml:3:13: quorum: expected a whole number from 1 to 16, got '17'" },
        { "sites:\n"
          "  - url: https://a.example/\n"
          "    quorum: two\n",
          "bad.yaml:3:13: quorum: expected a whole number from 1 to 16, got 'two'" },
        //  Quorum above the regions listed: in one site, in defaults.
        { "sites:\n"
          "  - url: https://a.example/\n"
          "    quorum: 3\n"
          "    regions: [eu, us]\n",
          "bad.yaml:3:13: quorum: expected at most 2, the regions listed (eu,us), got 3" },
        { "defaults:\n"
          "  quorum: 3\n"
          "  regions: [eu, us]\n",
          "bad.yaml:2:11: quorum: expected at most 2, the regions listed (eu,us), got 3" },
        //  One from the site, the other from defaults (after the sites):
        //  the site's own key is reported.
        { "sites:\n"
          "  - url: https://a.example/\n"
          "  - url: https://b.example/\n"
          "    quorum: 3\n"
          "defaults:\n"
          "  regions: [eu, us]\n",
          "bad.yaml:4:13: quorum: expected at most 2, the regions listed in defaults (eu,us), "
          "got 3" },
        { "defaults:\n"
          "  regions: [eu, us, asia]\n"
          "  quorum: 3\n"
          "sites:\n"
          "  - url: https://a.example/\n"
          "    regions: [eu, us]\n",
          "bad.yaml:6:14: regions: expected at least 3 names, the quorum in defaults, "
          "got 2 (eu,us)" },
        { "owners:\n"
          "  alice:\n"
          "    notify_degraded: maybe\n",
          "bad.yaml:3:22: notify_degraded: expected true or false, got 'maybe'" },
        { "canaries: [ftp://x.example/]\n",
          "bad.yaml:1:12: canaries: scheme 'ftp' is not monitored: only http and https" },
        { "canaries: https://x.example/\n",
          "bad.yaml:1:11: canaries: expected a list of at most 16 http or https URLs, "
          "got 'https://x.example/'" },
        { "canaries:\n"
          "  - https://x.example/\n"
          "  - https://x.example/\n",
          "bad.yaml:3:5: canary URL 'https://x.example/' is the same site as bad.yaml:2:5 "
          "('https://x.example/')" },
    };
    for (size_t index = 0; index < sizeof (cases) / sizeof (cases [0]); index++)
        s_expect_error (cases [index].text, cases [index].error);

    //  17 names, 17 canaries: reported at the 17th.
    char text [4096];
    int used = snprintf (text, sizeof (text), "defaults:\n  regions:\n");
    for (int index = 0; index <= SQ_REGIONS_MAX; index++)
        used += snprintf (text + used, sizeof (text) - (size_t) used, "    - r%d\n", index);
    s_expect_error (text, "bad.yaml:19:7: regions: expected at most 16 region names, got 17");
    used = snprintf (text, sizeof (text), "canaries:\n");
    for (int index = 0; index <= CONFIG_CANARIES_MAX; index++)
        used += snprintf (text + used, sizeof (text) - (size_t) used,
                          "  - https://c%d.example/\n", index);
    s_expect_error (text, "bad.yaml:18:5: canaries: expected at most 16 URLs, got 17");

    //  A name one byte too long (quoted cut to 60 bytes).
    snprintf (text, sizeof (text), "defaults:\n  regions: [%0*d]\n", SQ_NAME_MAX + 1, 7);
    s_expect_error (text, "bad.yaml:2:13: regions: expected a region name of 1 to 64 letters, "
                    "digits, '-' or '_', got '0000000000000000000000000000000000000000000000000000"
                    "00000000...'");
}

//  Decode every entry of batch (all of type) into messages, at most max;
//  returns how many.  The batch is read empty.
static size_t
s_decode_batch (zmsg_t *batch, sq_msg_type_t type, sq_msg_t *messages, size_t max)
{
    size_t count = 0;
    sq_batch_reader_t reader = { .batch = batch };
    sq_msg_t msg;
    uint64_t malformed = 0;
    int rc;
    while ((rc = sq_batch_next (&reader, type, &msg, "test", &malformed)) != 0) {
        assert_int_equal (rc, 1);
        assert_true (count < max);
        messages [count++] = msg;
    }
    assert_int_equal (malformed, 0);
    return count;
}

//  Owners and sites go to the actors as OWNER and SITE frames that decode
//  back to the same values.
static void
test_batches (void **state)
{
    s_write_mode ("page.sh", "#!/bin/sh\n", 0755);
    char text [PATH_MAX + 4096];
    snprintf (text, sizeof (text),
        "smtp: { url: smtps://mail.example.com, from: squirrel@example.com }\n"
        "owners:\n"
        "  alice:\n"
        "    email: alice@example.com\n"
        "    webhook: https://hooks.example.com/x\n"
        "    webhook_template: '{\"text\":\"{{url}} is {{state}}\"}'\n"
        "    slack: https://hooks.slack.com/services/T0/B0/x\n"
        "    discord: https://discord.com/api/webhooks/1/x\n"
        "    command: %s/page.sh\n"
        "    quiet: yes\n"
        "    notify_degraded: yes\n"
        "    maintenance:\n"
        "      - { start: 2026-12-01T02:00Z, duration: 2h, every: 1w }\n"
        "      - { start: 2026-12-24T00:00+01:00, end: 2026-12-27T00:00+01:00 }\n"
        "  bob:\n"
        "sites:\n"
        "  - url: https://a.example/\n"
        "    owner: alice\n"
        "    interval: 1m\n"
        "    remind_every: 2h\n"
        "    flap_changes: 9\n"
        "    flap_window: 1h\n"
        "    cert_warn_days: [1, 7, 30]\n"
        "    regions: [eu, us, asia]\n"
        "    quorum: 2\n"
        "    maintenance:\n"
        "      - { start: 2026-12-01T02:00Z, duration: 30m, every: 1d }\n"
        "  - url: https://b.example/\n"
        "    owner: bob\n"
        "  - url: https://c.example/\n", s_folder);
    config_t *config = s_load ("batch.yaml", text);
    char error [256] = "";

    zmsg_t *batch = config_owners_batch (config, error, sizeof (error));
    assert_non_null (batch);
    sq_msg_t messages [4];
    assert_int_equal (s_decode_batch (batch, SQ_MSG_OWNER, messages, 4), 2);
    zmsg_destroy (&batch);
    const config_owner_t *alice = &config->owners [0];
    const sq_owner_t *owner = &messages [0].owner;
    assert_int_equal (messages [0].type, SQ_MSG_OWNER);
    assert_string_equal (owner->name, "alice");
    assert_string_equal (owner->email, alice->email);
    assert_string_equal (owner->webhook, alice->webhook);
    assert_string_equal (owner->webhook_template, alice->webhook_template);
    assert_string_equal (owner->slack, alice->slack);
    assert_string_equal (owner->discord, alice->discord);
    assert_string_equal (owner->command, alice->command);
    assert_true (owner->quiet);
    assert_true (owner->notify_degraded);
    assert_int_equal (owner->maintenance.count, 2);
    assert_memory_equal (&owner->maintenance, &alice->maintenance, sizeof (sq_windows_t));
    assert_int_equal (owner->maintenance.window [1].start_s,
                      T_2026_12_01_0200Z + 22 * 86400 + 21 * 3600);
    assert_int_equal (owner->maintenance.window [1].length_s, 3 * 86400);
    owner = &messages [1].owner;
    assert_string_equal (owner->name, "bob");
    assert_string_equal (owner->email, "");
    assert_string_equal (owner->webhook, "");
    assert_string_equal (owner->webhook_template, "");
    assert_string_equal (owner->command, "");
    assert_false (owner->quiet);
    assert_false (owner->notify_degraded);
    assert_int_equal (owner->maintenance.count, 0);

    //  Sites without an id are not in the batch.
    config->sites [0].id = 11;
    config->sites [1].id = 12;
    batch = config_sites_batch (config, error, sizeof (error));
    assert_non_null (batch);
    assert_int_equal (s_decode_batch (batch, SQ_MSG_SITE, messages, 4), 2);
    zmsg_destroy (&batch);
    const sq_site_t *site = &messages [0].site;
    assert_int_equal (messages [0].type, SQ_MSG_SITE);
    assert_int_equal (site->site_id, 11);
    assert_string_equal (site->url, "https://a.example/");
    assert_string_equal (site->owner, "alice");
    assert_int_equal (site->interval_ms, 60000);
    assert_int_equal (site->remind_every_ms, 7200000);
    assert_int_equal (site->flap_changes, 9);
    assert_int_equal (site->flap_window_ms, 3600000);
    assert_int_equal (site->cert_warn_days.count, 3);
    assert_int_equal (site->cert_warn_days.day [0], 30);
    assert_int_equal (site->cert_warn_days.day [1], 7);
    assert_int_equal (site->cert_warn_days.day [2], 1);
    assert_int_equal (site->maintenance.count, 1);
    assert_int_equal (site->maintenance.window [0].start_s, T_2026_12_01_0200Z);
    assert_int_equal (site->maintenance.window [0].length_s, 1800);
    assert_int_equal (site->maintenance.window [0].every_s, 86400);
    assert_string_equal (site->regions, "eu,us,asia");
    assert_int_equal (site->quorum, 2);
    site = &messages [1].site;
    assert_int_equal (site->site_id, 12);
    assert_string_equal (site->owner, "bob");
    assert_int_equal (site->remind_every_ms, SQ_NOTIFY_REMIND_MS);
    assert_int_equal (site->flap_changes, SQ_NOTIFY_FLAP_CHANGES);
    assert_int_equal (site->flap_window_ms, SQ_NOTIFY_FLAP_WINDOW_MS);
    assert_string_equal (site->regions, "");
    assert_int_equal (site->quorum, 0);
    assert_int_equal (site->cert_warn_days.count, 2);
    assert_int_equal (site->cert_warn_days.day [0], 14);
    assert_int_equal (site->cert_warn_days.day [1], 3);
    assert_int_equal (site->maintenance.count, 0);

    //  A value the message cannot carry is an error, not a cut value.
    sq_owner_t message;
    char address [SQ_EMAIL_MAX + 2];
    memset (address, 'a', sizeof (address) - 1);
    address [sizeof (address) - 1] = '\0';
    config_owner_t too_long = { .name = "x", .email = address };
    assert_int_equal (config_owner_message (config, &too_long, &message), -1);
    too_long.email = NULL;
    assert_int_equal (config_owner_message (config, &too_long, &message), 0);
    assert_string_equal (message.email, "");
    config_destroy (&config);

    //  No owners: an empty batch.
    config = config_new_empty ();
    batch = config_owners_batch (config, error, sizeof (error));
    assert_non_null (batch);
    assert_int_equal (zmsg_size (batch), 0);
    zmsg_destroy (&batch);
    assert_int_equal (config->notify.digest_after, SQ_NOTIFY_DIGEST_AFTER);
    assert_int_equal (config->notify.give_up_ms, SQ_NOTIFY_GIVE_UP_MS);
    assert_null (config->notify.smtp_url);
    s_assert_built_in (&config->defaults);
    config_destroy (&config);
}

//  Site URLs in normal form (sq_url_normalise): what the sites are checked
//  and stored as, and two spellings of one URL an error that names both.
//  This program never calls setlocale: the international names load
//  under the C locale.
static void
test_same_site (void **state)
{
    config_t *config = s_load ("spellings.yaml",
        "owners:\n"
        "  alice: { webhook: 'HTTPS://Hooks.Example.com:443/a#x' }\n"
        "canaries: ['HTTP://Bücher.Example:80/x#f', https://Canary.example:443]\n"
        "sites:\n"
        "  - url: HTTP://Example.COM:80/A/b?Q=1#top\n"
        "  - url: https://example.com:443\n"
        "  - url: https://example.com:80/\n"
        "  - url: http://example.com:443/\n"
        "  - url: http://example.com//A//b\n"
        "  - url: http://example.com/a/b\n"
        "  - url: http://example.com/%7e\n"
        "  - url: http://example.com/~\n"
        "  - url: http://example.com./\n"
        "  - url: http://user@example.com/\n"
        "  - url: 'http://Bücher.Example:80/x#f'\n");
    static const char *normal [] = {
        "http://example.com/A/b?Q=1", "https://example.com/", "https://example.com:80/",
        "http://example.com:443/", "http://example.com//A//b", "http://example.com/a/b",
        "http://example.com/%7e", "http://example.com/~", "http://example.com./",
        "http://user@example.com/", "http://xn--bcher-kva.example/x"
    };
    assert_int_equal (config->site_count, sizeof (normal) / sizeof (normal [0]));
    for (size_t index = 0; index < config->site_count; index++) {
        assert_string_equal (config->sites [index].url, normal [index]);
        assert_ptr_equal (config_site_by_url (config, normal [index]), &config->sites [index]);
        assert_int_equal (config->sites [index].line, 5 + (int) index);
    }
    //  Looked up in normal form only, as stored.
    assert_null (config_site_by_url (config, "http://Bücher.Example:80/x#f"));
    assert_int_equal (config->canary_count, 2);
    assert_string_equal (config->canaries [0], "http://xn--bcher-kva.example/x");
    assert_string_equal (config->canaries [1], "https://canary.example/");
    //  Channel URLs go through the same reader.
    assert_string_equal (config->owners [0].webhook, "https://hooks.example.com/a");
    config_destroy (&config);

    //  The plain list, too.
    config = s_load ("list.txt", "HTTP://Example.COM:80/#top\nhttp://bücher.example\n");
    assert_int_equal (config->site_count, 2);
    assert_string_equal (config->sites [0].url, "http://example.com/");
    assert_string_equal (config->sites [1].url, "http://xn--bcher-kva.example/");
    config_destroy (&config);

    //  Two spellings of one site: both places, each as written.
    static const struct { const char *text, *error; } cases [] = {
        { "sites:\n"
          "  - url: https://example.com/\n"
          "  - { interval: 1m, url: 'HTTPS://Example.com:443/#x' }\n",
          "bad.yaml:3:26: site URL 'HTTPS://Example.com:443/#x' is the same site as "
          "bad.yaml:2:10 ('https://example.com/')" },
        { "sites:\n"
          "  - url: http://example.com:80\n"
          "  - url: http://EXAMPLE.com/#top\n",
          "bad.yaml:3:10: site URL 'http://EXAMPLE.com/#top' is the same site as "
          "bad.yaml:2:10 ('http://example.com:80')" },
        { "sites:\n"
          "  - url: http://XN--BCHER-KVA.example/\n"
          "  - url: http://bücher.example/\n",
          "bad.yaml:3:10: site URL 'http://bücher.example/' is the same site as "
          "bad.yaml:2:10 ('http://XN--BCHER-KVA.example/')" },
        { "http://example.com/a\n"
          "  HTTP://example.com:80/a#x   # same\n",
          "bad.yaml:2:3: site URL 'HTTP://example.com:80/a#x' is the same site as "
          "bad.yaml:1:1 ('http://example.com/a')" },
        { "canaries:\n"
          "  - https://c.example/\n"
          "  - HTTPS://C.example:443/#x\n",
          "bad.yaml:3:5: canary URL 'HTTPS://C.example:443/#x' is the same site as "
          "bad.yaml:2:5 ('https://c.example/')" },
        //  Mistakes still come in file order: the bad URL before the pair.
        { "canaries:\n"
          "  - ftp://c.example/\n"
          "  - https://c.example/\n"
          "  - https://C.example/\n",
          "bad.yaml:2:5: canaries: scheme 'ftp' is not monitored: only http and https" },
        //  A host IDNA refuses (the plain list: YAML refuses bytes that
        //  are not UTF-8 itself).
        { "http://a\xff.example/\n",
          "bad.yaml:1:1: 'http://a\xff.example/' has a host that is not a valid "
          "international domain name" },
    };
    for (size_t index = 0; index < sizeof (cases) / sizeof (cases [0]); index++)
        s_expect_error (cases [index].text, cases [index].error);

    //  Adding a site: another spelling of one there is refused, naming it.
    config = s_load ("list.txt", "http://example.com/\n");
    char error [256] = "";
    assert_int_equal (config_add_site (config, "HTTP://Example.com:80/#x", error, sizeof (error)),
                      -1);
    assert_string_equal (error, "'HTTP://Example.com:80/#x' is already in the config as "
                                "'http://example.com/' (list.txt line 1)");
    assert_int_equal (config_add_site (config, "http://Bücher.example/", error, sizeof (error)),
                      0);
    assert_int_equal (config->site_count, 2);
    assert_string_equal (config->sites [1].url, "http://xn--bcher-kva.example/");
    config_destroy (&config);
}


//  A URL quoted in an error never shows its password or tokens, whether
//  libcurl parses it or not (issue 11: secrets in the open).
static void
test_secrets_in_errors (void **state)
{
    s_expect_error ("sites:\n  - url: \"https://user:SECRET@host:99999/\"\n",
                    "bad.yaml:2:10: url: 'https://***@host:99999/' is not a valid URL: Port "
                    "number was not a decimal number between 0 and 65535");
    s_expect_error ("sites:\n  - url: \"https://user:SECRET@bad host/?token=SECRET\"\n",
                    "bad.yaml:2:10: url: 'https://***@bad host/?***' is not a valid URL: Bad "
                    "hostname");
    s_expect_error ("sites:\n  - url: https://user:SECRET@host/\n"
                    "  - url: HTTPS://user:SECRET@HOST/\n",
                    "bad.yaml:3:10: site URL 'https://***@HOST/' is the same site as "
                    "bad.yaml:2:10 ('https://***@host/')");
    s_expect_error ("sites:\n  - { url: \"https://h/\", interval: \"https://u:SECRET@x/\" }\n",
                    "bad.yaml:2:36: interval: expected a duration such as 500ms, 30s, 5m or "
                    "1h, got 'https://***@x/'");
}

//  http and status_page: defaults, the listen address, the token file's
//  mode and length, the page's sites in normal form.
static void
test_http_section (void **state)
{
    config_t *config = s_load ("http.yaml", "http: {}\nsites: [{ url: https://a.example/ }]\n");
    assert_string_equal (config->http_listen, "127.0.0.1:8080");
    assert_null (config->http_token_file);
    assert_int_equal (config->http_metrics_sites, 10000);
    assert_string_equal (config->page_title, "Status");
    assert_null (config->page_sites);
    config_destroy (&config);
    config = s_load ("plain.yaml", "sites: [{ url: https://a.example/ }]\n");
    assert_null (config->http_listen);
    config_destroy (&config);

    s_write_mode ("token", "0123456789abcdef0123\n", 0600);
    config = s_load ("http.yaml", "http: { listen: \"[::1]:9090\", token_file: token, "
                     "metrics_sites: 0 }\n"
                     "status_page: { title: Ours, sites: [HTTPS://A.example] }\n");
    assert_int_equal (config->http_metrics_sites, 0);
    assert_string_equal (config->http_listen, "[::1]:9090");
    assert_string_equal (config->http_token_file, "token");
    assert_string_equal (config->page_title, "Ours");
    assert_int_equal (config->page_site_count, 1);
    assert_string_equal (config->page_sites [0], "https://a.example/");
    config_destroy (&config);

    s_expect_error ("http: { metrics_sites: 1000001 }\n",
                    "bad.yaml:1:24: metrics_sites: expected a whole number from 0 to 1000000, "
                    "got '1000001'");
    s_expect_error ("http: { listen: localhost:8080 }\n",
                    "bad.yaml:1:17: listen: expected HOST:PORT with a numeric host, such as "
                    "127.0.0.1:8080 or [::1]:8080, got 'localhost:8080'");
    s_expect_error ("http: { listen: 127.0.0.1:0 }\n",
                    "bad.yaml:1:17: listen: expected HOST:PORT with a numeric host, such as "
                    "127.0.0.1:8080 or [::1]:8080, got '127.0.0.1:0'");
    s_write_mode ("open-token", "0123456789abcdef0123\n", 0644);
    s_expect_error ("http: { token_file: open-token }\n",
                    "bad.yaml:1:21: token_file: expected a file only its owner can read, got "
                    "'open-token': mode 0644 lets others in: chmod 600 open-token");
    s_write_mode ("short-token", "short\n", 0600);
    s_expect_error ("http: { token_file: short-token }\n",
                    "bad.yaml:1:21: token_file: expected a token of at least 16 characters on "
                    "the first line of the file, got 'short-token'");
    s_expect_error ("status_page: { sites: [ftp://x/] }\n",
                    "bad.yaml:1:24: sites: scheme 'ftp' is not monitored: only http and https");
}

//  Sites added through the API: read by a site's rules after the file's,
//  errors placed in the body, a URL the file lists left to the file.
static void
test_api_sites (void **state)
{
    s_write ("hub.yaml", "owners: { alice: {} }\n"
             "sites: [{ url: https://file.example/, owner: alice }]\n");
    config_api_site_t good [] = {
        { "https://api.example/", "{\"url\": \"https://api.example/\", \"owner\": \"alice\", "
          "\"interval\": \"30s\"}", "body" },
        { "https://file.example/", "{\"url\": \"https://file.example/\"}", "API site 2" },
    };
    char error [512] = "";
    config_t *config = config_load_with_api ("hub.yaml", good, 2, error, sizeof (error));
    assert_non_null (config);
    assert_int_equal (config->site_count, 2);
    assert_int_equal (config->api_site_count, 1);
    assert_false (config->sites [0].api);
    assert_true (config->sites [1].api);
    assert_string_equal (config->sites [1].url, "https://api.example/");
    assert_int_equal (config->sites [1].interval_ms, 30000);
    config_destroy (&config);

    config_api_site_t bad [] = {
        { "https://api.example/", "{\"url\": \"https://api.example/\", \"owner\": \"bob\"}",
          "body" },
    };
    assert_null (config_load_with_api ("hub.yaml", bad, 1, error, sizeof (error)));
    assert_string_equal (error, "body:1:42: owner: expected an owner declared under owners, "
                         "got 'bob'");
}

//  retention: raw results and rollups kept, each a duration in its range;
//  absent keys keep the built-in windows (24h, 400d).
static void
test_retention (void **state)
{
    //  Built in, in YAML and in a plain list.
    config_t *config = s_load ("none.yaml", "sites:\n  - url: https://example.com/\n");
    assert_int_equal (config->retention_results_ms, 24 * 3600000ULL);
    assert_int_equal (config->retention_rollups_ms, 400 * 86400000ULL);
    config_destroy (&config);
    config = s_load ("list.txt", "https://example.com/\n");
    assert_int_equal (config->retention_results_ms, 24 * 3600000ULL);
    assert_int_equal (config->retention_rollups_ms, 400 * 86400000ULL);
    config_destroy (&config);
    config = config_new_empty ();
    assert_int_equal (config->retention_results_ms, 24 * 3600000ULL);
    assert_int_equal (config->retention_rollups_ms, 400 * 86400000ULL);
    config_destroy (&config);

    //  Both set, the edges of both ranges, one alone, an empty mapping.
    config = s_load ("both.yaml", "retention: { results: 2h, rollups: 90d }\n");
    assert_int_equal (config->retention_results_ms, 2 * 3600000ULL);
    assert_int_equal (config->retention_rollups_ms, 90 * 86400000ULL);
    config_destroy (&config);
    config = s_load ("low.yaml", "retention:\n  results: 1h\n  rollups: 2160h\n");
    assert_int_equal (config->retention_results_ms, 3600000ULL);
    assert_int_equal (config->retention_rollups_ms, 90 * 86400000ULL);
    config_destroy (&config);
    config = s_load ("high.yaml", "retention: { results: 90d, rollups: 3650d }\n");
    assert_int_equal (config->retention_results_ms, 90 * 86400000ULL);
    assert_int_equal (config->retention_rollups_ms, 3650 * 86400000ULL);
    config_destroy (&config);
    config = s_load ("one.yaml", "retention: { results: 1d12h }\n");
    assert_int_equal (config->retention_results_ms, 36 * 3600000ULL);
    assert_int_equal (config->retention_rollups_ms, 400 * 86400000ULL);
    config_destroy (&config);
    config = s_load ("other.yaml", "retention: { rollups: 52w }\n");
    assert_int_equal (config->retention_results_ms, 24 * 3600000ULL);
    assert_int_equal (config->retention_rollups_ms, 364 * 86400000ULL);
    config_destroy (&config);
    config = s_load ("empty.yaml", "retention: {}\n");
    assert_int_equal (config->retention_results_ms, 24 * 3600000ULL);
    assert_int_equal (config->retention_rollups_ms, 400 * 86400000ULL);
    config_destroy (&config);

    //  Mistakes, each at its value.
    struct { const char *text; const char *error; } cases [] = {
        { "retention: { results: 30m }\n",
          "bad.yaml:1:23: results: expected a duration from 1h to 90d, got '30m'" },
        { "retention: { results: 91d }\n",
          "bad.yaml:1:23: results: expected a duration from 1h to 90d, got '91d'" },
        { "retention: { results: 0 }\n",
          "bad.yaml:1:23: results: expected a duration from 1h to 90d, got '0'" },
        { "data_dir: ./data\n"
          "retention:\n"
          "  results: 24h\n"
          "  rollups: 30d\n",
          "bad.yaml:4:12: rollups: expected a duration from 90d to 3650d, got '30d'" },
        { "retention: { rollups: 3651d }\n",
          "bad.yaml:1:23: rollups: expected a duration from 90d to 3650d, got '3651d'" },
        { "retention: { rollups: forever }\n",
          "bad.yaml:1:23: rollups: expected a duration such as 500ms, 30s, 5m or 1h, "
          "got 'forever'" },
        { "retention: { results: 99999999999999999999d }\n",
          "bad.yaml:1:23: results: expected a duration such as 500ms, 30s, 5m or 1h, "
          "got '99999999999999999999d'" },
        { "retention: { results: [24h] }\n",
          "bad.yaml:1:23: results: expected a duration such as 500ms, 30s, 5m or 1h, "
          "got a list" },
        { "retention: { raw: 24h }\n",
          "bad.yaml:1:14: unknown key 'raw' in retention; expected one of: results, rollups" },
        { "retention: 24h\n",
          "bad.yaml:1:12: retention: expected a mapping such as "
          "'{ results: 24h, rollups: 400d }', got '24h'" },
    };
    for (size_t index = 0; index < sizeof (cases) / sizeof (cases [0]); index++)
        s_expect_error (cases [index].text, cases [index].error);
}

//  "owners:" with o0 .. o39, then tail.  Caller frees.
static char *
s_forty_owners (const char *tail)
{
    char *text = NULL;
    size_t length = 0;
    sq_json_appendf (&text, &length, "owners:\n");
    for (int index = 0; index < 40; index++)
        sq_json_appendf (&text, &length, "  o%d: {}\n", index);
    sq_json_appendf (&text, &length, "%s", tail);
    return text;
}

//  A large owners mapping (a table of the keys seen, not a search of the
//  ones before): a duplicate far down is found, with both lines; a site's
//  owner looked up among many.
static void
test_many_owners (void **state)
{
    char *text = s_forty_owners ("sites:\n  - url: http://a.example/\n    owner: o39\n");
    config_t *config = s_load ("many.yaml", text);
    assert_int_equal (config->owner_count, 40);
    assert_string_equal (config->sites [0].owner, "o39");
    config_destroy (&config);
    free (text);
    //  o25 again on line 42 (line 1 is "owners:", o25 first on line 27).
    text = s_forty_owners ("  o25: {}\nsites:\n  - url: http://a.example/\n    owner: o1\n");
    s_expect_error (text, "bad.yaml:42:3: duplicate key 'o25' in owners: expected each key once, "
                          "got it first on line 27");
    free (text);
    text = s_forty_owners ("sites:\n  - url: http://a.example/\n    owner: o40\n");
    s_expect_error (text, "bad.yaml:44:12: owner: expected an owner declared under owners, "
                          "got 'o40'");
    free (text);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_example),
        cmocka_unit_test (test_defaults_and_overrides),
        cmocka_unit_test (test_plain_list),
        cmocka_unit_test (test_durations),
        cmocka_unit_test (test_errors),
        cmocka_unit_test (test_more_errors),
        cmocka_unit_test (test_new_empty_and_add_site),
        cmocka_unit_test (test_deploy_example),
        cmocka_unit_test (test_notify_keys),
        cmocka_unit_test (test_notify_errors),
        cmocka_unit_test (test_times),
        cmocka_unit_test (test_regions),
        cmocka_unit_test (test_region_errors),
        cmocka_unit_test (test_batches),
        cmocka_unit_test (test_same_site),
        cmocka_unit_test (test_many_owners),
        cmocka_unit_test (test_retention),
        cmocka_unit_test (test_secrets_in_errors),
        cmocka_unit_test (test_http_section),
        cmocka_unit_test (test_api_sites),
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
