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
    assert_string_equal (config->feed, "ipc:///tmp/squirrel.feed");
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
    assert_string_equal (config->sites [2].url, "https://example.net/#section");
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
                    "bad.yaml:4:5: expected each site once, got 'https://example.com/' again "
                    "(first on line 2)");
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
    };
    for (size_t index = 0; index < sizeof (good) / sizeof (good [0]); index++) {
        uint64_t ms = 12345;
        if (config_duration_parse (good [index].text, &ms))
            fail_msg ("'%s' refused", good [index].text);
        assert_int_equal (ms, good [index].ms);
    }
    const char *bad [] = {
        "", "5", "5 minutes", "5 m", " 5s", "5s ", "m", "ms", "5x", "1.5s", "-5s", "+5s",
        "30s1m", "1m1m", "5ms5s", "5S", "5M", "1d", "5mss", "1000000000s", "00", "s5",
        "1h 30m", "5min", "5sec",
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
          "data_dir, feed, listen, keys, heartbeat, workers, defaults, owners, sites" },
        //  The topology keys.
        { "data_dir: ./data\n"
          "listen: tcp://0.0.0.0:7700\n",
          "bad.yaml:2:9: listen: expected a keys folder beside it (keys: ./keys), got none: "
          "tcp links run only with CURVE" },
        { "keys: ./keys\n"
          "listen: ipc:///tmp/x\n",
          "bad.yaml:2:9: listen: expected a tcp://HOST:PORT endpoint such as tcp://0.0.0.0:7700, "
          "got 'ipc:///tmp/x'" },
        { "keys: ./keys\n"
          "listen: tcp://0.0.0.0:65535\n",
          "bad.yaml:2:9: listen: expected a tcp://HOST:PORT endpoint such as tcp://0.0.0.0:7700, "
          "got 'tcp://0.0.0.0:65535'" },
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
          "max_redirects, tls_verify" },
        { "defaults:\n"
          "  url: https://example.com/\n",
          "bad.yaml:2:3: unknown key 'url' in defaults; expected one of: interval, timeout, "
          "method, failure_threshold, success_threshold, accept, keyword, max_latency, "
          "max_redirects, tls_verify" },
        { "sites:\n"
          "  - url: https://example.com/\n"
          "    intervall: 1m\n",
          "bad.yaml:3:5: unknown key 'intervall' in site; expected one of: url, owner, "
          "interval, timeout, method, failure_threshold, success_threshold, accept, keyword, "
          "max_latency, max_redirects, tls_verify" },
        { "owners:\n"
          "  alice:\n"
          "    webhook: https://hooks.example.com/alice\n"
          "    email: alice@example.com\n",
          "bad.yaml:4:5: unknown key 'email' in owner 'alice'; expected one of: webhook" },
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
          "bad.yaml:1:7: feed: expected a ZeroMQ endpoint such as ipc:///tmp/squirrel.feed, "
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
          "  alice: {}\n",
          "bad.yaml:2:10: owner 'alice': expected a webhook key (webhook: https://...), "
          "got none" },
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
          "bad.yaml:6:10: url: expected each site once, got 'https://example.org/' again "
          "(first on line 3)" },
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
    s_expect_error (big, "bad.yaml:3002:10: url: expected each site once, got "
                         "'https://site1234.example/' again (first on line 1236)");
    free (big);
}

static void
test_new_empty_and_add_site (void **state)
{
    config_t *config = config_new_empty ();
    assert_non_null (config);
    assert_null (config->path);
    assert_string_equal (config->data_dir, "./squirrel-data");
    assert_string_equal (config->feed, "ipc:///tmp/squirrel.feed");
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
    };
    return cmocka_run_group_tests (tests, s_setup, s_teardown);
}
