/*  render.h: the words and formats of a notification, as pure code.

    Given the notices of one delivery attempt, in order (one notice, or
    several: a digest, or one site's DOWN then UP when the DOWN was still
    undelivered), write the body for each channel.  No I/O, no clock: the
    time of sending is an argument.  Every URL shown goes through
    sq_url_shown (userinfo and query values elided).

    One site's notices in one attempt (say DOWN at T1, then UP at T2) read
    as one story: "was down from T1 to T2 (for 3m12s): timeout".  Notices
    of several sites read as a digest: a summary line, then one line per
    site (the newest state of each, its history folded in).
*/
#ifndef RENDER_H_INCLUDED
#define RENDER_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include "notice.h"

//  Lines listed in a digest's text before "... and N more" (email keeps
//  them all up to RENDER_EMAIL_LINES_MAX).
#define RENDER_CHAT_LINES_MAX   50
#define RENDER_EMAIL_LINES_MAX  5000
#define RENDER_DISCORD_MAX      2000    //  bytes in a Discord message's content

//  One line subject: "[DOWN] https://example.com/ (timeout)", "[UP] ...
//  (was down 3m12s)", "[REMINDER] ... still down since ...", "[FLAPPING]
//  ...", a digest "[squirrel] 12 changes: 10 down, 2 up".  Printable ASCII
//  and UTF-8 only: every control character (CR, LF, ...) is replaced by a
//  space.  Caller frees.
char *render_subject (const notice_t *const *notices, size_t count);

//  The plain-text body: per site its state, reason, since when, HTTP
//  status, per-phase timings (dns, connect, tls, ttfb, total in ms), for
//  UP how long it was down; the notice ids at the end.  Lines end "\n".
//  Caller frees.
char *render_text (const notice_t *const *notices, size_t count);

//  The generic webhook's JSON.  One notice: an object with "id", "kind",
//  "seq", "site_id", "url", "state", "previous", "reason", "detail", "at",
//  "since", "previous_since", "http_status", "timings_ms" {dns, connect,
//  tls, ttfb, total}, "owner" (null when ""), plus "changes" for
//  FLAPPING and "cert_expiry"/"days_left" for CERT.  Several: {"digest":
//  true, "owner": ..., "count": N, "alerts": [those objects, in order]}.
//  Caller frees.
char *render_webhook_json (const notice_t *const *notices, size_t count);

//  Slack incoming webhook: {"text": subject + "\n" + text}, at most
//  RENDER_CHAT_LINES_MAX site lines.  Caller frees.
char *render_slack_json (const notice_t *const *notices, size_t count);

//  Discord webhook: {"content": ...}, content at most RENDER_DISCORD_MAX
//  bytes (cut at a line, "... and N more").  Caller frees.
char *render_discord_json (const notice_t *const *notices, size_t count);

//  A whole RFC 5322 message, CRLF line ends, for SMTP: Date (now_us),
//  Message-ID <squirrel.ID[-ID].NOW@DOMAIN> with DOMAIN the part of from
//  after '@', From, To, Subject (RFC 2047 encoded-word, UTF-8, base64,
//  when it holds anything but printable ASCII), MIME-Version,
//  Content-Type text/plain; charset=utf-8, Content-Transfer-Encoding 8bit,
//  X-Squirrel-Id, then render_text's body with lines starting "." doubled
//  is NOT done here (libcurl does dot-stuffing).  from and to were checked
//  at config load: no CR or LF.  Caller frees.
char *render_email (const notice_t *const *notices, size_t count, const char *from,
                    const char *to, int64_t now_us);

//  Environment for the command channel: a NULL-terminated array of
//  "NAME=value" strings: SQUIRREL_ID (ids, comma-separated),
//  SQUIRREL_KIND, SQUIRREL_URL, SQUIRREL_STATE, SQUIRREL_PREVIOUS,
//  SQUIRREL_REASON, SQUIRREL_DETAIL, SQUIRREL_SINCE (ISO 8601),
//  SQUIRREL_HTTP_STATUS, SQUIRREL_OWNER, SQUIRREL_COUNT, SQUIRREL_SUBJECT,
//  SQUIRREL_TEXT, plus PATH=/usr/local/bin:/usr/bin:/bin.  Single-site
//  fields come from the newest notice.  Values never hold a NUL; they may
//  hold newlines (TEXT).  Free with render_env_free.
char **render_command_env (const notice_t *const *notices, size_t count);
void render_env_free (char ***env_p);

//  "3m12s", "2h5m", "45s", "1d2h" for a duration in µs, into out (>= 32).
void render_duration (int64_t us, char *out, size_t out_size);

#endif
