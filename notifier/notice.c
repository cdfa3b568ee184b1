/*  notice.c: names of notice kinds and channels (see notice.h).  */
#include "notice.h"

#include <stdint.h>
#include <string.h>

static const char *const s_kind_names [NOTICE_KIND_COUNT] = {
    "alert", "reminder", "flapping", "settled", "maintenance_over", "cert"
};

static const char *const s_channel_names [CHANNEL_COUNT] = {
    "webhook", "slack", "discord", "email", "command"
};

const char *
notice_kind_name (notice_kind_t kind)
{
    return (unsigned) kind < NOTICE_KIND_COUNT ? s_kind_names [kind] : "?";
}

const char *
channel_kind_name (channel_kind_t kind)
{
    return (unsigned) kind < CHANNEL_COUNT ? s_channel_names [kind] : "?";
}

int
channel_kind_from_name (const char *name)
{
    for (int kind = 0; name && kind < CHANNEL_COUNT; kind++)
        if (strcmp (name, s_channel_names [kind]) == 0)
            return kind;
    return -1;
}

int32_t
notice_cert_threshold (const sq_days_t *days, int32_t days_left)
{
    int32_t tightest = -1;
    for (unsigned index = 0; index < days->count && index < SQ_DAYS_MAX; index++) {
        int32_t threshold = days->day [index];
        if (days_left <= threshold && (tightest < 0 || threshold < tightest))
            tightest = threshold;
    }
    return tightest;
}

int32_t
notice_days_left (int64_t expiry_s, int64_t now_s)
{
    int64_t seconds = expiry_s - now_s;
    //  Floor division: 1 s past the end is day -1, not day 0.
    int64_t days = seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
    return days < INT32_MIN ? INT32_MIN : days > INT32_MAX ? INT32_MAX : (int32_t) days;
}
