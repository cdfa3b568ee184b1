/*  test_proto.c: the wire contract.  Round trips of every message, and
    hostile frames: truncated, oversized, wrong-typed, out of range, random.
*/
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "sq_proto.h"
#include "sq_url.h"

#define SAMPLE_COUNT 6         //  one message of each type

static void
s_fill_string (char *text, size_t length, char letter)
{
    memset (text, letter, length);
    text [length] = '\0';
}

//  One message of each type, every field set, strings at their limits.
static size_t
s_samples (sq_msg_t *samples)
{
    memset (samples, 0, SAMPLE_COUNT * sizeof (sq_msg_t));
    sq_msg_t *msg = &samples [0];
    msg->type = SQ_MSG_CHECK;
    msg->check.job_id = UINT64_MAX;
    msg->check.attempt = 3;
    msg->check.site_id = 42;
    strcpy (msg->check.url, "https://example.com/");
    msg->check.method = SQ_METHOD_GET;
    msg->check.timeout_ms = 20000;
    msg->check.accept.count = 2;
    msg->check.accept.low [0] = 200;
    msg->check.accept.high [0] = 399;
    msg->check.accept.low [1] = 401;
    msg->check.accept.high [1] = 401;
    s_fill_string (msg->check.keyword, SQ_KEYWORD_MAX, 'k');
    msg->check.max_latency_ms = 2000;
    msg->check.max_redirects = 10;
    msg->check.tls_verify = true;

    msg = &samples [1];
    msg->type = SQ_MSG_RESULT;
    msg->result.job_id = 7;
    msg->result.attempt = 1;
    msg->result.site_id = 42;
    s_fill_string (msg->result.pinger_id, SQ_NAME_MAX, 'p');
    strcpy (msg->result.region, "eu-west");
    msg->result.up = false;
    msg->result.reason = SQ_REASON_TLS;
    msg->result.http_status = 0;
    msg->result.method = SQ_METHOD_HEAD;
    msg->result.queue_us = 1;
    msg->result.dns_us = 2;
    msg->result.connect_us = 3;
    msg->result.tls_us = 4;
    msg->result.ttfb_us = 5;
    msg->result.total_us = UINT64_MAX;
    msg->result.cert_expiry = 1900000000;
    msg->result.at = INT64_MAX;
    s_fill_string (msg->result.error, SQ_TEXT_MAX, 'e');

    msg = &samples [2];
    msg->type = SQ_MSG_ALERT;
    msg->alert.seq = 99;
    msg->alert.site_id = 42;
    s_fill_string (msg->alert.url, SQ_URL_MAX, 'u');
    msg->alert.previous = SQ_STATE_UP;
    msg->alert.state = SQ_STATE_DOWN;
    msg->alert.since = 1700000000000000;
    msg->alert.reason = SQ_REASON_TIMEOUT;
    strcpy (msg->alert.detail, "no answer in 20 s");

    msg = &samples [3];
    msg->type = SQ_MSG_READY;
    strcpy (msg->ready.pinger_id, "pinger-1");
    msg->ready.free_slots = 256;

    msg = &samples [4];
    msg->type = SQ_MSG_HEARTBEAT;
    strcpy (msg->heartbeat.pinger_id, "pinger-1");
    strcpy (msg->heartbeat.region, "us-east");
    msg->heartbeat.free_slots = 0;

    msg = &samples [5];
    msg->type = SQ_MSG_DONE;
    msg->done.job_id = 12;
    msg->done.site_id = 42;
    msg->done.recheck = true;
    msg->done.delay_ms = 2000;
    return SAMPLE_COUNT;
}

static void
test_round_trip (void **state)
{
    sq_msg_t samples [SAMPLE_COUNT];
    size_t count = s_samples (samples);
    for (size_t index = 0; index < count; index++) {
        uint8_t buffer [SQ_FRAME_MAX];
        int size = sq_msg_encode (&samples [index], buffer, sizeof (buffer));
        assert_true (size > 0);
        sq_msg_t decoded;
        char why [128] = "";
        assert_int_equal (sq_msg_decode (buffer, (size_t) size, &decoded, why, sizeof (why)),
                          SQ_PROTO_OK);
        assert_int_equal (decoded.type, samples [index].type);
        //  Structs were zeroed before filling, and decode zeroes first, so
        //  a byte compare covers every field and string terminator.
        assert_memory_equal (&decoded, &samples [index], sizeof (sq_msg_t));
    }
}

static void
test_truncated_frames (void **state)
{
    sq_msg_t samples [SAMPLE_COUNT];
    size_t count = s_samples (samples);
    for (size_t index = 0; index < count; index++) {
        uint8_t buffer [SQ_FRAME_MAX];
        int size = sq_msg_encode (&samples [index], buffer, sizeof (buffer));
        for (int length = 0; length < size; length++) {
            sq_msg_t decoded;
            assert_int_equal (sq_msg_decode (buffer, (size_t) length, &decoded, NULL, 0),
                              SQ_PROTO_MALFORMED);
            assert_int_equal (decoded.type, SQ_MSG_NONE);
        }
        //  And trailing bytes are refused too.
        buffer [size] = 0xc0;
        sq_msg_t decoded;
        assert_int_equal (sq_msg_decode (buffer, (size_t) size + 1, &decoded, NULL, 0),
                          SQ_PROTO_MALFORMED);
    }
}

static void
test_oversized_and_huge_headers (void **state)
{
    sq_msg_t decoded;
    char why [128];
    //  Larger than the cap, whatever it holds.
    uint8_t *big = calloc (1, SQ_FRAME_MAX + 1);
    assert_non_null (big);
    assert_int_equal (sq_msg_decode (big, SQ_FRAME_MAX + 1, &decoded, why, sizeof (why)),
                      SQ_PROTO_MALFORMED);
    free (big);
    //  Headers that claim billions of entries or bytes: refused before the
    //  unpacker sees them (it would try to allocate ~96 GB for the first).
    const uint8_t array32 [] = { 0xdd, 0xff, 0xff, 0xff, 0xff };
    const uint8_t map32 [] = { 0xdf, 0xff, 0xff, 0xff, 0xff };
    const uint8_t str32 [] = { 0xdb, 0xff, 0xff, 0xff, 0xff, 'a' };
    const uint8_t nested [] = { 0x93, 0x01, 0x01, 0xdd, 0x7f, 0xff, 0xff, 0xff };
    const uint8_t never_used [] = { 0xc1 };
    const uint8_t deep [] = { 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x91, 0x00 };
    struct { const uint8_t *data; size_t size; } cases [] = {
        { array32, sizeof (array32) }, { map32, sizeof (map32) }, { str32, sizeof (str32) },
        { nested, sizeof (nested) }, { never_used, sizeof (never_used) }, { deep, sizeof (deep) },
    };
    for (size_t index = 0; index < sizeof (cases) / sizeof (cases [0]); index++)
        assert_int_equal (sq_msg_decode (cases [index].data, cases [index].size, &decoded, why,
                                         sizeof (why)), SQ_PROTO_MALFORMED);
    assert_int_equal (sq_msg_decode (NULL, 0, &decoded, why, sizeof (why)), SQ_PROTO_MALFORMED);
}

//  Build a READY by hand, with one field replaced by a callback's choice.
typedef void (pack_fn) (msgpack_packer *packer);

static int
s_decode_packed (uint64_t version, uint64_t type, pack_fn *id, pack_fn *slots, size_t fields)
{
    msgpack_sbuffer buffer;
    msgpack_sbuffer_init (&buffer);
    msgpack_packer packer;
    msgpack_packer_init (&packer, &buffer, msgpack_sbuffer_write);
    msgpack_pack_array (&packer, 2 + fields);
    msgpack_pack_uint64 (&packer, version);
    msgpack_pack_uint64 (&packer, type);
    id (&packer);
    msgpack_pack_str_with_body (&packer, "eu", 2);
    if (fields > 2)
        slots (&packer);
    for (size_t extra = 3; extra < fields; extra++)
        msgpack_pack_nil (&packer);
    sq_msg_t decoded;
    char why [128] = "";
    int rc = sq_msg_decode (buffer.data, buffer.size, &decoded, why, sizeof (why));
    msgpack_sbuffer_destroy (&buffer);
    return rc;
}

static void s_good_id (msgpack_packer *packer) { msgpack_pack_str_with_body (packer, "p1", 2); }
static void s_int_id (msgpack_packer *packer) { msgpack_pack_uint8 (packer, 7); }
static void s_empty_id (msgpack_packer *packer) { msgpack_pack_str_with_body (packer, "", 0); }
static void s_nul_id (msgpack_packer *packer) { msgpack_pack_str_with_body (packer, "p\0x", 3); }
static void s_bin_id (msgpack_packer *packer) { msgpack_pack_bin_with_body (packer, "p1", 2); }
static void
s_long_id (msgpack_packer *packer)
{
    char text [SQ_NAME_MAX + 1];
    memset (text, 'x', sizeof (text));
    msgpack_pack_str_with_body (packer, text, sizeof (text));
}
static void s_good_slots (msgpack_packer *packer) { msgpack_pack_uint32 (packer, 5); }
static void s_negative_slots (msgpack_packer *packer) { msgpack_pack_int32 (packer, -5); }
static void s_float_slots (msgpack_packer *packer) { msgpack_pack_double (packer, 5.0); }
static void s_huge_slots (msgpack_packer *packer) { msgpack_pack_uint64 (packer, UINT64_MAX); }
static void s_string_slots (msgpack_packer *packer) { msgpack_pack_str_with_body (packer, "5", 1); }

static void
test_wrong_types_and_ranges (void **state)
{
    assert_int_equal (s_decode_packed (SQ_PROTO_VERSION, SQ_MSG_READY, s_good_id, s_good_slots, 3), SQ_PROTO_OK);
    assert_int_equal (s_decode_packed (SQ_PROTO_VERSION + 1, SQ_MSG_READY, s_good_id, s_good_slots, 3),
                      SQ_PROTO_BAD_VERSION);
    assert_int_equal (s_decode_packed (0, SQ_MSG_READY, s_good_id, s_good_slots, 3),
                      SQ_PROTO_BAD_VERSION);
    assert_int_equal (s_decode_packed (SQ_PROTO_VERSION, 99, s_good_id, s_good_slots, 3), SQ_PROTO_MALFORMED);
    assert_int_equal (s_decode_packed (SQ_PROTO_VERSION, 0, s_good_id, s_good_slots, 3), SQ_PROTO_MALFORMED);
    assert_int_equal (s_decode_packed (SQ_PROTO_VERSION, SQ_MSG_READY, s_good_id, s_good_slots, 2),
                      SQ_PROTO_MALFORMED);
    assert_int_equal (s_decode_packed (SQ_PROTO_VERSION, SQ_MSG_READY, s_good_id, s_good_slots, 4),
                      SQ_PROTO_MALFORMED);
    pack_fn *bad_ids [] = { s_int_id, s_empty_id, s_nul_id, s_bin_id, s_long_id };
    for (size_t index = 0; index < sizeof (bad_ids) / sizeof (bad_ids [0]); index++)
        assert_int_equal (s_decode_packed (SQ_PROTO_VERSION, SQ_MSG_READY, bad_ids [index], s_good_slots, 3),
                          SQ_PROTO_MALFORMED);
    pack_fn *bad_slots [] = { s_negative_slots, s_float_slots, s_huge_slots, s_string_slots };
    for (size_t index = 0; index < sizeof (bad_slots) / sizeof (bad_slots [0]); index++)
        assert_int_equal (s_decode_packed (SQ_PROTO_VERSION, SQ_MSG_READY, s_good_id, bad_slots [index], 3),
                          SQ_PROTO_MALFORMED);
}

static void
test_encoder_refuses_broken_messages (void **state)
{
    sq_msg_t samples [SAMPLE_COUNT];
    s_samples (samples);
    uint8_t buffer [SQ_FRAME_MAX];
    sq_msg_t msg = samples [0];
    msg.check.method = SQ_METHOD_COUNT;
    assert_int_equal (sq_msg_encode (&msg, buffer, sizeof (buffer)), -1);
    msg = samples [0];
    msg.check.attempt = 0;
    assert_int_equal (sq_msg_encode (&msg, buffer, sizeof (buffer)), -1);
    msg = samples [0];
    msg.check.url [0] = '\0';
    assert_int_equal (sq_msg_encode (&msg, buffer, sizeof (buffer)), -1);
    msg = samples [0];
    msg.check.accept.low [0] = 500;     //  low above high
    assert_int_equal (sq_msg_encode (&msg, buffer, sizeof (buffer)), -1);
    msg = samples [1];
    msg.result.at = -1;
    assert_int_equal (sq_msg_encode (&msg, buffer, sizeof (buffer)), -1);
    msg.type = SQ_MSG_NONE;
    assert_int_equal (sq_msg_encode (&msg, buffer, sizeof (buffer)), -1);
    //  A buffer too small is refused, not overrun.
    assert_int_equal (sq_msg_encode (&samples [0], buffer, 10), -1);
}

//  Random frames and random mutations of valid ones: the decoder answers
//  every one, and anything it accepts survives a re-encode.
static void
test_random_frames (void **state)
{
    sq_msg_t samples [SAMPLE_COUNT];
    size_t count = s_samples (samples);
    uint8_t encoded [SAMPLE_COUNT][SQ_FRAME_MAX];
    int sizes [SAMPLE_COUNT];
    for (size_t index = 0; index < count; index++) {
        sizes [index] = sq_msg_encode (&samples [index], encoded [index], SQ_FRAME_MAX);
        assert_true (sizes [index] > 0);
    }
    srandom (12345);
    unsigned accepted = 0;
    for (unsigned round = 0; round < 200000; round++) {
        uint8_t frame [SQ_FRAME_MAX];
        size_t size;
        if (round % 2) {
            size = (size_t) (random () % 64);
            for (size_t at = 0; at < size; at++)
                frame [at] = (uint8_t) random ();
        }
        else {
            size_t which = (size_t) random () % count;
            size = (size_t) sizes [which];
            memcpy (frame, encoded [which], size);
            for (int flips = 1 + random () % 3; flips > 0; flips--)
                frame [random () % size] = (uint8_t) random ();
        }
        sq_msg_t decoded;
        int rc = sq_msg_decode (frame, size, &decoded, NULL, 0);
        assert_true (rc == SQ_PROTO_OK || rc == SQ_PROTO_MALFORMED || rc == SQ_PROTO_BAD_VERSION);
        if (rc == SQ_PROTO_OK) {
            accepted++;
            uint8_t again [SQ_FRAME_MAX];
            assert_true (sq_msg_encode (&decoded, again, sizeof (again)) > 0);
        }
    }
    //  Some mutations (a digit of a number, a letter of a string) stay
    //  valid; if none did, the mutation branch would not be exercising
    //  the field checks.
    assert_true (accepted > 0);
}

static void
test_names_and_ranges (void **state)
{
    assert_string_equal (sq_reason_name (SQ_REASON_HTTP_STATUS), "http_status");
    assert_string_equal (sq_reason_name ((sq_reason_t) 99), "?");
    assert_int_equal (sq_reason_from_name ("too_slow"), SQ_REASON_TOO_SLOW);
    assert_int_equal (sq_method_from_name ("head"), SQ_METHOD_HEAD);
    assert_int_equal (sq_method_from_name ("POST"), -1);
    assert_string_equal (sq_msg_type_name (SQ_MSG_HEARTBEAT), "HEARTBEAT");

    sq_ranges_t ranges;
    size_t error_at = 0;
    assert_int_equal (sq_ranges_parse ("200-399, 401", &ranges, &error_at), 0);
    assert_int_equal (ranges.count, 2);
    assert_true (sq_ranges_accept (&ranges, 401));
    assert_true (sq_ranges_accept (&ranges, 200));
    assert_false (sq_ranges_accept (&ranges, 400));
    assert_int_equal (sq_ranges_parse ("200-39x", &ranges, &error_at), -1);
    assert_int_equal (error_at, 6);     //  at the x
    assert_int_equal (sq_ranges_parse ("300-200", &ranges, &error_at), -1);
    assert_int_equal (sq_ranges_parse ("200,", &ranges, &error_at), -1);
    assert_int_equal (error_at, 4);
    memset (&ranges, 0, sizeof (ranges));
    assert_true (sq_ranges_accept (&ranges, 399));
    assert_false (sq_ranges_accept (&ranges, 400));
    assert_false (sq_ranges_accept (&ranges, 0));
}

//  A frame whose empty strings msgpack-c hands over with a NULL pointer
//  (found by the fuzzer: DONE, version 2, empty region and avoid; now
//  version 3 with an empty pinger too): decoded without touching the
//  pointer (UBSan in `make test` watches).
static void
test_empty_strings (void **state)
{
    const uint8_t frame [] = { 0x9a, 0x03, 0x06, 0x03, 0x03, 0xc2, 0x0f, 0xa0, 0xa0, 0xa0, 0xc2 };
    sq_msg_t msg;
    assert_int_equal (sq_msg_decode (frame, sizeof (frame), &msg, NULL, 0), SQ_PROTO_OK);
    assert_int_equal (msg.type, SQ_MSG_DONE);
    assert_string_equal (msg.done.region, "");
    assert_string_equal (msg.done.avoid, "");
    assert_string_equal (msg.done.pinger, "");
    assert_false (msg.done.quarantined);
    assert_int_equal (msg.done.delay_ms, 15);
}

//  URLs as shown anywhere: no user, password, query value or (for a
//  channel) path token survives.
static void
test_urls_shown (void **state)
{
    static const struct { const char *url, *shown, *secret; } rows [] = {
        { "https://user:pw@host.example/p?a=1&token=abc#frag",
          "https://***@host.example/p?a=1&token=***", "https://host.example/***" },
        { "http://h.example/x?site=3&API_Key=k&X-Amz-Signature=s&pass=p&sessionid=z",
          "http://h.example/x?site=3&API_Key=***&X-Amz-Signature=***&pass=***&sessionid=***",
          "http://h.example/***" },
        { "http://h.example/health?check", "http://h.example/health?check", "http://h.example/***" },
        { "http://host.example:8080/", "http://host.example:8080/", "http://host.example:8080/" },
        { "https://host.example/x?0123456789abcdef", "https://host.example/x?***",
          "https://host.example/***" },
        { "https://hooks.slack.com/services/T0/B0/XYZ", "https://hooks.slack.com/services/T0/B0/XYZ",
          "https://hooks.slack.com/***" },
        { "https://:onlypw@host.example/", "https://***@host.example/", "https://host.example/" },
        { "no url at all", "(unparseable URL)", "(unparseable URL)" },
    };
    for (size_t index = 0; index < sizeof (rows) / sizeof (rows [0]); index++) {
        char out [SQ_URL_MAX + 1];
        sq_url_shown (rows [index].url, out, sizeof (out));
        assert_string_equal (out, rows [index].shown);
        sq_url_shown_secret (rows [index].url, out, sizeof (out));
        assert_string_equal (out, rows [index].secret);
    }
}

//  A URL in normal form without user or query is shown as it is, without
//  a parse: the same text the parse gives.  The parse is forced by adding
//  a short query ("?q", kept as it is), and the two must agree.
static void
test_urls_shown_without_parse (void **state)
{
    static const char *urls [] = {
        "http://127.0.0.1:18001/s/0", "https://xn--bcher-kva.example/a/b",
        "https://h.example:65535/x", "http://h.example/a/b/", "http://h-1.example/~u/a;b=c,d!$'()*+",
        "http://h.example/", "https://h.example:8443/", "http://10.0.0.1/x/y.z", "http://h.example/a/.b",
        "HTTP://H.example/", "http://h.example", "http://h.example:0080/", "http://h.example:99999/",
        "http://[::1]:8080/", "http://h.example/a%20b", "http://h.example/a/../b", "http://h.example:/",
        "http://h.example/a/./b", "http://h.example/a/.", "http://H.Example/x",
        "http://127.1/", "http://0x7f.0.0.1/", "http://010.0.0.1/", "http://2130706433/",
        "http://127.0.0.1.5/", "http://1.2.3.256/", "http://a,b/", "http://a*b/", "http://a_b/",
        "http://1password.example/", "http://h.example:8080/x/y",
    };
    for (size_t index = 0; index < sizeof (urls) / sizeof (urls [0]); index++) {
        char shown [SQ_URL_MAX + 1], parsed [SQ_URL_MAX + 1], with_query [SQ_URL_MAX + 1];
        sq_url_shown (urls [index], shown, sizeof (shown));
        snprintf (with_query, sizeof (with_query), "%s%s?q", urls [index],
                  strchr (urls [index] + 8, '/') ? "" : "/");
        sq_url_shown (with_query, parsed, sizeof (parsed));
        if (strcmp (parsed, "(unparseable URL)") == 0) {
            assert_string_equal (shown, parsed);
            continue;
        }
        size_t length = strlen (parsed) - 2;
        assert_string_equal (parsed + length, "?q");
        parsed [length] = '\0';
        if (strcmp (shown, parsed) != 0)
            fail_msg ("%s: shown as '%s' without a parse, '%s' with one", urls [index], shown,
                      parsed);
    }
    //  Too small a buffer: cut, as snprintf would, never overrun.
    char small [8];
    sq_url_shown ("http://h.example/", small, sizeof (small));
    assert_true (strlen (small) < sizeof (small));
}

//  The normal form of a URL (sq_url_normalise): what changes, what does
//  not, and what is refused.  The test program never calls setlocale, so
//  the international names are converted under the C locale: the
//  normaliser must not depend on the process's locale.
static void
test_urls_normalised (void **state)
{
    static const struct { const char *url, *normal; } rows [] = {
        //  Scheme and host case; the default port; the fragment.
        { "HTTP://Host.Example/", "http://host.example/" },
        { "http://host.example/#frag", "http://host.example/" },
        { "http://HOST.example:80/", "http://host.example/" },
        { "http://host.example:0080/", "http://host.example/" },
        { "https://host.example:443/a", "https://host.example/a" },
        { "hTTpS://host.example", "https://host.example/" },
        //  Not the other scheme's default port.
        { "https://host.example:80/", "https://host.example:80/" },
        { "http://host.example:443/", "http://host.example:443/" },
        { "http://host.example:8080", "http://host.example:8080/" },
        //  Path and query as given: case, "//", percent-encoding.
        { "http://host.example/A/b?Q=1&r=S#x", "http://host.example/A/b?Q=1&r=S" },
        { "http://host.example//a//b", "http://host.example//a//b" },
        { "http://host.example/%7e%7E~", "http://host.example/%7e%7E~" },
        //  What libcurl changes before it sends: dot segments, an empty
        //  query or port.
        { "http://host.example/a/../b/./c", "http://host.example/b/c" },
        { "http://host.example/?", "http://host.example/" },
        { "http://host.example:/", "http://host.example/" },
        //  The user is kept as written; a trailing dot is another name.
        { "http://User:PW@Host.example:80/", "http://User:PW@host.example/" },
        { "http://host.example./", "http://host.example./" },
        //  International names: punycode, in lower case, whichever spelling.
        { "http://Bücher.Example:80/x#f", "http://xn--bcher-kva.example/x" },
        { "http://BÜCHER.example/", "http://xn--bcher-kva.example/" },
        { "http://b%C3%BCcher.example/", "http://xn--bcher-kva.example/" },
        { "http://XN--BCHER-KVA.example/", "http://xn--bcher-kva.example/" },
        { "https://例え.テスト/", "https://xn--r8jz45g.xn--zckzah/" },
        //  Addresses: IPv6 hex in lower case, its zone kept as written.
        { "http://[FE80::A]:80/", "http://[fe80::a]/" },
        { "http://[FE80::A%25Eth0]/p", "http://[fe80::a%25Eth0]/p" },
        { "http://127.0.0.1:80/", "http://127.0.0.1/" },
    };
    char out [SQ_URL_MAX + 1], why [256];
    for (size_t index = 0; index < sizeof (rows) / sizeof (rows [0]); index++) {
        why [0] = '\0';
        if (sq_url_normalise (rows [index].url, out, sizeof (out), why, sizeof (why)))
            fail_msg ("%s refused: %s", rows [index].url, why);
        assert_string_equal (out, rows [index].normal);
        //  The normal form is its own normal form.
        char again [SQ_URL_MAX + 1];
        assert_int_equal (sq_url_normalise (out, again, sizeof (again), why, sizeof (why)), 0);
        assert_string_equal (again, out);
    }

    //  Refused: sq_url_check's reasons, then a host IDNA refuses.
    assert_int_equal (sq_url_normalise ("ftp://host.example/", out, sizeof (out), why,
                                        sizeof (why)), -1);
    assert_string_equal (why, "scheme 'ftp' is not monitored: only http and https");
    assert_string_equal (out, "");
    assert_int_equal (sq_url_normalise ("http://a\xff.example/", out, sizeof (out), why,
                                        sizeof (why)), -1);
    assert_string_equal (why, "'http://a\xff.example/' has a host that is not a valid "
                              "international domain name");

    //  A URL of SQ_URL_MAX bytes whose "ü" (2 bytes) becomes "xn--tda" (7):
    //  too long once normalised.
    char *longest = malloc (SQ_URL_MAX + 1);
    assert_non_null (longest);
    int used = snprintf (longest, SQ_URL_MAX + 1, "http://ü/");
    memset (longest + used, 'a', (size_t) (SQ_URL_MAX - used));
    longest [SQ_URL_MAX] = '\0';
    char why_long [256];
    assert_int_equal (sq_url_normalise (longest, out, sizeof (out), why_long,
                                        sizeof (why_long)), -1);
    //  Its first 60 bytes are quoted: "http://xn--tda/" and 45 a.
    assert_string_equal (why_long, "URL longer than 2048 bytes once normalised "
                                   "('http://xn--tda/" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                                   "...')");
    //  Five bytes shorter, it fits exactly.
    longest [SQ_URL_MAX - 5] = '\0';
    assert_int_equal (sq_url_normalise (longest, out, sizeof (out), why, sizeof (why)), 0);
    assert_int_equal (strlen (out), SQ_URL_MAX);
    assert_int_equal (strncmp (out, "http://xn--tda/aaa", 18), 0);
    free (longest);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_round_trip),
        cmocka_unit_test (test_truncated_frames),
        cmocka_unit_test (test_oversized_and_huge_headers),
        cmocka_unit_test (test_wrong_types_and_ranges),
        cmocka_unit_test (test_encoder_refuses_broken_messages),
        cmocka_unit_test (test_random_frames),
        cmocka_unit_test (test_names_and_ranges),
        cmocka_unit_test (test_urls_shown),
        cmocka_unit_test (test_urls_shown_without_parse),
        cmocka_unit_test (test_urls_normalised),
        cmocka_unit_test (test_empty_strings),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
