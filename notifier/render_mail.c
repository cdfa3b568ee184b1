/*  render_mail.c: a notification as a whole RFC 5322 message (see
    render.h, render_email).  The subject and the body are render.c's; this
    file adds the headers, encodes a subject that is not printable ASCII as
    RFC 2047 encoded-words, and writes the body as CRLF lines a mail server
    accepts (at most 998 bytes each).  libcurl does the SMTP dot-stuffing.
*/
#include "render.h"
#include "render_private.h"

#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

//  Longest line of a mail body without its CRLF (RFC 5322 2.1.1).
#define S_MAIL_LINE_MAX         998
//  An ASCII subject with a word longer than this cannot be folded under
//  998 bytes a line: it goes out as encoded-words, which may split anywhere.
#define S_FOLDABLE_WORD_MAX     900

static void
s_base64 (buffer_t *buffer, const unsigned char *data, size_t size)
{
    static const char alphabet [] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t index = 0; index < size; index += 3) {
        uint32_t group = (uint32_t) data [index] << 16;
        if (index + 1 < size)
            group |= (uint32_t) data [index + 1] << 8;
        if (index + 2 < size)
            group |= data [index + 2];
        char out [5] = {
            alphabet [(group >> 18) & 63], alphabet [(group >> 12) & 63],
            index + 1 < size ? alphabet [(group >> 6) & 63] : '=',
            index + 2 < size ? alphabet [group & 63] : '=', '\0'
        };
        BUFFER_PRINTF (buffer, "%s", out);
    }
}

//  The Subject header.  Plain when printable ASCII, folded at spaces under
//  78 columns.  Otherwise RFC 2047 encoded-words, "=?UTF-8?B?...?=", each
//  of whole characters and at most 75 bytes, one per line so no line
//  passes 76: 39 bytes of text on the first line ("Subject: " takes 9),
//  45 on each continuation line.  "=?" in plain text would be read as an
//  encoded-word by some readers, so it is encoded too.
static void
s_subject_header (buffer_t *buffer, const char *subject)
{
    size_t size = strlen (subject);
    bool plain = strstr (subject, "=?") == NULL;
    size_t word = 0;
    for (size_t index = 0; plain && index < size; index++) {
        unsigned char byte = (unsigned char) subject [index];
        word = byte == ' ' ? 0 : word + 1;
        if (byte < 0x20 || byte >= 0x7F || word > S_FOLDABLE_WORD_MAX)
            plain = false;
    }
    BUFFER_PRINTF (buffer, "Subject: ");
    if (plain) {
        //  Fold before a space: unfolding takes the CRLF out, the space stays.
        size_t column = strlen ("Subject: ");
        const char *at = subject;
        while (*at) {
            size_t spaces = strspn (at, " ");
            size_t length = spaces + strcspn (at + spaces, " ");
            if (spaces && column + length > RENDER_WRAP_WIDTH && column > strlen ("Subject: ")) {
                BUFFER_PRINTF (buffer, "\r\n");
                column = 0;
            }
            render_append (buffer, at, length);
            column += length;
            at += length;
        }
    }
    else {
        size_t done = 0, chunk_max = 39;
        while (done < size) {
            size_t chunk = render_utf8_cut (subject + done, size - done, chunk_max);
            if (chunk == 0)             //  never: render_clean left whole characters
                chunk = 1;
            if (done)
                BUFFER_PRINTF (buffer, "\r\n ");
            BUFFER_PRINTF (buffer, "=?UTF-8?B?");
            s_base64 (buffer, (const unsigned char *) subject + done, chunk);
            BUFFER_PRINTF (buffer, "?=");
            done += chunk;
            chunk_max = 45;
        }
    }
    BUFFER_PRINTF (buffer, "\r\n");
}

//  The domain of a mail address, "Name <a@b.example>" or "a@b.example",
//  for the Message-ID; "localhost" if there is none to take.
static void
s_mail_domain (const char *address, char *out, size_t out_size)
{
    const char *at = address ? strrchr (address, '@') : NULL;
    size_t length = at ? strspn (at + 1, "abcdefghijklmnopqrstuvwxyz"
                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") : 0;
    if (length == 0)
        snprintf (out, out_size, "localhost");
    else
        snprintf (out, out_size, "%.*s", (int) length, at + 1);
}

//  "Thu, 26 Nov 2026 06:40:00 +0000": names written out, not strftime's,
//  which follow the locale.
static void
s_mail_date (int64_t unix_us, char *out, size_t out_size)
{
    static const char *const days [] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
    static const char *const months [] = {
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
    };
    time_t seconds = (time_t) (unix_us > 0 ? unix_us / 1000000 : 0);
    struct tm when = { 0 };
    gmtime_r (&seconds, &when);
    snprintf (out, out_size, "%s, %02d %s %04d %02d:%02d:%02d +0000", days [when.tm_wday % 7],
              when.tm_mday, months [when.tm_mon % 12], when.tm_year + 1900, when.tm_hour,
              when.tm_min, when.tm_sec);
}

//  A header whose value comes from the config: checked there, cleaned
//  again here so that a mistake upstream cannot add a header.
static void
s_mail_header (buffer_t *buffer, const char *name, const char *value)
{
    char *copy = strdup (value ? value : "");
    if (!copy) {
        buffer->failed = true;
        return;
    }
    render_clean (copy, true);
    BUFFER_PRINTF (buffer, "%s: %s\r\n", name, copy);
    free (copy);
}

//  text with "\n" line ends as CRLF lines of at most S_MAIL_LINE_MAX bytes:
//  a longer line is broken (at a character), not cut, so nothing is lost.
static void
s_mail_body (buffer_t *buffer, const char *text)
{
    const char *line = text;
    while (*line) {
        size_t length = strcspn (line, "\n");
        const char *next = line [length] ? line + length + 1 : line + length;
        if (length && line [length - 1] == '\r')
            length--;
        do {
            size_t piece = render_utf8_cut (line, length, S_MAIL_LINE_MAX);
            if (piece == 0)
                piece = length < S_MAIL_LINE_MAX ? length : S_MAIL_LINE_MAX;
            render_append (buffer, line, piece);
            BUFFER_PRINTF (buffer, "\r\n");
            line += piece;
            length -= piece;
        } while (length);
        line = next;
    }
}

char *
render_email (const notice_t *const *notices, size_t count, const char *from, const char *to,
              int64_t now_us)
{
    assert (notices && count);
    char *subject = render_subject (notices, count);
    char *text = render_text (notices, count);
    buffer_t buffer = { 0 };
    if (!subject || !text)
        buffer.failed = true;
    else {
        char date [64], domain [SQ_EMAIL_MAX + 1];
        s_mail_date (now_us, date, sizeof (date));
        s_mail_domain (from, domain, sizeof (domain));
        BUFFER_PRINTF (&buffer, "Date: %s\r\nMessage-ID: <squirrel.%" PRIu64, date,
                       notices [0]->id);
        if (count > 1)
            BUFFER_PRINTF (&buffer, "-%" PRIu64, notices [count - 1]->id);
        BUFFER_PRINTF (&buffer, ".%" PRId64 "@%s>\r\n", now_us, domain);
        s_mail_header (&buffer, "From", from);
        s_mail_header (&buffer, "To", to);
        s_subject_header (&buffer, subject);
        BUFFER_PRINTF (&buffer, "MIME-Version: 1.0\r\n"
                       "Content-Type: text/plain; charset=utf-8\r\n"
                       "Content-Transfer-Encoding: 8bit\r\n");
        render_ids (&buffer, notices, count, "X-Squirrel-Id: ", false, RENDER_WRAP_WIDTH, "\r\n", " ");
        BUFFER_PRINTF (&buffer, "\r\n\r\n");
        s_mail_body (&buffer, text);
    }
    free (subject);
    free (text);
    return render_finish (&buffer);
}
