/*  sq_proto.c: encoder and decoder for every message in sq_proto.h.

    The codec is table-driven: each message's field list from the header is
    expanded into a table of field descriptors (name, kind, offset, limits),
    and one encoder and one decoder walk those tables.  There is no per-
    message code to drift out of step with the declarations.

    Decoding is done in three steps, because msgpack-c's unpacker trusts the
    counts in array and map headers and allocates for them before it has
    seen the elements (five bytes, DD FF FF FF FF, make it ask for ~96 GB):
      1. the frame size is capped at SQ_FRAME_MAX;
      2. s_prescan walks the raw bytes and refuses any header that claims
         more elements or bytes than remain in the frame, nesting deeper than
         SQ_DEPTH_MAX, or bytes left over after the one top-level object;
      3. only then msgpack_unpack_next builds the object tree, whose size is
         now bounded by a small multiple of the frame size, and every field
         is checked against its declared kind and range.
*/
#include "sq_proto.h"

#include <assert.h>
#include <msgpack.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SQ_DEPTH_MAX 4          //  our messages nest two deep at most

typedef enum {
    KIND_U64, KIND_U32, KIND_U16, KIND_ENUM, KIND_BOOL, KIND_I64, KIND_STR, KIND_RANGES,
    KIND_WINDOWS, KIND_DAYS
} kind_t;

typedef struct {
    const char *name;           //  field name, for error text
    kind_t kind;                //  how it is stored and encoded
    size_t offset;              //  offset inside the message struct
    uint64_t min;               //  smallest value, or shortest length
    uint64_t max;               //  largest value, or longest length
} field_t;

typedef struct {
    const char *name;           //  "CHECK", ...
    int id;                     //  type id on the wire
    const field_t *fields;      //  field table, in wire order
    size_t field_count;         //  entries in fields
    size_t offset;              //  offset of this member inside sq_msg_t
} message_t;

#define SQ_FIELD_DESC(S, type, name, min, max) \
    { #name, KIND_##type, offsetof (S, name), (uint64_t) (min), (uint64_t) (max) },
#define SQ_FIELD_TABLE(NAME, name, id) \
    static const field_t s_##name##_fields [] = { SQ_##NAME##_FIELDS (SQ_FIELD_DESC, sq_##name##_t) };
SQ_MESSAGES (SQ_FIELD_TABLE)

#define SQ_MESSAGE_ENTRY(NAME, name, id) \
    { #NAME, id, s_##name##_fields, sizeof (s_##name##_fields) / sizeof (field_t), offsetof (sq_msg_t, name) },
static const message_t s_messages [] = { SQ_MESSAGES (SQ_MESSAGE_ENTRY) };
#define SQ_MESSAGE_COUNT (sizeof (s_messages) / sizeof (s_messages [0]))

static const message_t *
s_message_lookup (int id)
{
    for (size_t index = 0; index < SQ_MESSAGE_COUNT; index++)
        if (s_messages [index].id == id)
            return &s_messages [index];
    return NULL;
}

static void
s_why (char *why, size_t why_size, const char *format, ...)
{
    if (!why || why_size == 0)
        return;
    va_list args;
    va_start (args, format);
    vsnprintf (why, why_size, format, args);
    va_end (args);
}


#define SQ_COPY_FIELD(S, type, name, min, max) \
    memcpy (&change->name, &alert->name, sizeof (change->name));
void
sq_change_from_alert (sq_change_t *change, const sq_alert_t *alert)
{
    SQ_STATE_CHANGE_FIELDS (SQ_COPY_FIELD, _)
}
#undef SQ_COPY_FIELD

#define SQ_COPY_FIELD(S, type, name, min, max) \
    memcpy (&alert->name, &change->name, sizeof (alert->name));
void
sq_alert_from_change (sq_alert_t *alert, uint64_t seq, const sq_change_t *change)
{
    alert->seq = seq;
    SQ_STATE_CHANGE_FIELDS (SQ_COPY_FIELD, _)
}
#undef SQ_COPY_FIELD

bool
sq_window_valid (const sq_window_t *window)
{
    return window->start_s >= 0 && window->length_s >= 1
        && window->length_s <= SQ_WINDOW_LENGTH_MAX
        && window->every_s <= SQ_WINDOW_EVERY_MAX
        && (window->every_s == 0 || window->every_s >= window->length_s);
}

bool
sq_windows_contain (const sq_windows_t *windows, int64_t unix_s)
{
    for (unsigned index = 0; index < windows->count; index++) {
        const sq_window_t *window = &windows->window [index];
        if (unix_s < window->start_s)
            continue;
        int64_t into = unix_s - window->start_s;
        if (window->every_s)
            into %= window->every_s;
        if (into < window->length_s)
            return true;
    }
    return false;
}


//  --------------------------------------------------------------------------
//  Encoder

typedef struct {
    uint8_t *data;              //  caller's buffer
    size_t size;                //  its capacity
    size_t used;                //  bytes written so far
} sink_t;

static int
s_sink_write (void *data, const char *bytes, size_t length)
{
    sink_t *sink = (sink_t *) data;
    if (length > sink->size - sink->used)
        return -1;              //  msgpack-c passes this back to the caller
    memcpy (sink->data + sink->used, bytes, length);
    sink->used += length;
    return 0;
}

static bool
s_range_valid (uint16_t low, uint16_t high)
{
    return low >= 100 && high <= 999 && low <= high;
}

static int
s_encode_field (msgpack_packer *packer, const field_t *field, const uint8_t *base)
{
    const void *at = base + field->offset;
    uint64_t value;
    switch (field->kind) {
        case KIND_U64:  value = *(const uint64_t *) at; break;
        case KIND_U32:  value = *(const uint32_t *) at; break;
        case KIND_U16:  value = *(const uint16_t *) at; break;
        case KIND_ENUM: value = *(const uint8_t *) at; break;
        case KIND_BOOL:
            return *(const bool *) at ? msgpack_pack_true (packer) : msgpack_pack_false (packer);
        case KIND_I64: {
            int64_t signed_value = *(const int64_t *) at;
            if (signed_value < (int64_t) field->min || signed_value > (int64_t) field->max)
                return -1;
            return msgpack_pack_int64 (packer, signed_value);
        }
        case KIND_STR: {
            const char *text = (const char *) at;
            size_t length = strnlen (text, field->max + 1);
            if (length < field->min || length > field->max)
                return -1;
            if (msgpack_pack_str (packer, length))
                return -1;
            return msgpack_pack_str_body (packer, text, length);
        }
        case KIND_RANGES: {
            const sq_ranges_t *ranges = (const sq_ranges_t *) at;
            if (ranges->count > field->max)
                return -1;
            if (msgpack_pack_array (packer, 2 * (size_t) ranges->count))
                return -1;
            for (unsigned index = 0; index < ranges->count; index++) {
                if (!s_range_valid (ranges->low [index], ranges->high [index]))
                    return -1;
                if (msgpack_pack_uint16 (packer, ranges->low [index])
                ||  msgpack_pack_uint16 (packer, ranges->high [index]))
                    return -1;
            }
            return 0;
        }
        case KIND_WINDOWS: {
            const sq_windows_t *windows = (const sq_windows_t *) at;
            if (windows->count > field->max
            ||  msgpack_pack_array (packer, 3 * (size_t) windows->count))
                return -1;
            for (unsigned index = 0; index < windows->count; index++) {
                const sq_window_t *window = &windows->window [index];
                if (!sq_window_valid (window)
                ||  msgpack_pack_int64 (packer, window->start_s)
                ||  msgpack_pack_uint32 (packer, window->length_s)
                ||  msgpack_pack_uint32 (packer, window->every_s))
                    return -1;
            }
            return 0;
        }
        case KIND_DAYS: {
            const sq_days_t *days = (const sq_days_t *) at;
            if (days->count > field->max || msgpack_pack_array (packer, days->count))
                return -1;
            for (unsigned index = 0; index < days->count; index++)
                if (days->day [index] < 1 || days->day [index] > SQ_DAYS_VALUE_MAX
                ||  msgpack_pack_uint16 (packer, days->day [index]))
                    return -1;
            return 0;
        }
        default:
            return -1;
    }
    if (value < field->min || value > field->max)
        return -1;
    return msgpack_pack_uint64 (packer, value);
}

int
sq_msg_encode (const sq_msg_t *msg, uint8_t *buf, size_t buf_size)
{
    const message_t *message = msg ? s_message_lookup ((int) msg->type) : NULL;
    if (!message || !buf)
        return -1;
    sink_t sink = { buf, buf_size < SQ_FRAME_MAX ? buf_size : SQ_FRAME_MAX, 0 };
    msgpack_packer packer;
    msgpack_packer_init (&packer, &sink, s_sink_write);

    const uint8_t *base = (const uint8_t *) msg + message->offset;
    if (msgpack_pack_array (&packer, 2 + message->field_count)
    ||  msgpack_pack_uint8 (&packer, SQ_PROTO_VERSION)
    ||  msgpack_pack_uint8 (&packer, (uint8_t) message->id))
        return -1;
    for (size_t index = 0; index < message->field_count; index++)
        if (s_encode_field (&packer, &message->fields [index], base))
            return -1;
    return (int) sink.used;
}


//  --------------------------------------------------------------------------
//  Decoder, step 2: a structural walk over untrusted msgpack bytes that
//  refuses anything whose headers claim more than the frame holds.

static uint64_t
s_read_be (const uint8_t *bytes, size_t width)
{
    uint64_t value = 0;
    for (size_t index = 0; index < width; index++)
        value = (value << 8) | bytes [index];
    return value;
}

//  Skip one object at *pos.  Returns 0, or -1 when it is malformed.
static int
s_prescan_object (const uint8_t *data, size_t size, size_t *pos, int depth)
{
    if (depth > SQ_DEPTH_MAX || *pos >= size)
        return -1;
    uint8_t byte = data [(*pos)++];
    size_t left = size - *pos;
    uint64_t payload = 0;       //  bytes that follow the header
    uint64_t children = 0;      //  nested objects that follow the header
    size_t width = 0;           //  bytes of a length field in the header

    if (byte <= 0x7f || byte >= 0xe0 || byte == 0xc0 || byte == 0xc2 || byte == 0xc3)
        return 0;                               //  fixint, nil, bool
    else
    if (byte >= 0x80 && byte <= 0x8f)
        children = 2 * (uint64_t) (byte & 0x0f);    //  fixmap
    else
    if (byte >= 0x90 && byte <= 0x9f)
        children = byte & 0x0f;                     //  fixarray
    else
    if (byte >= 0xa0 && byte <= 0xbf)
        payload = byte & 0x1f;                      //  fixstr
    else
    switch (byte) {
        case 0xc4: case 0xd9: width = 1; break;     //  bin8, str8
        case 0xc5: case 0xda: width = 2; break;     //  bin16, str16
        case 0xc6: case 0xdb: width = 4; break;     //  bin32, str32
        case 0xc7: width = 1; payload = 1; break;   //  ext8 (+ type byte)
        case 0xc8: width = 2; payload = 1; break;   //  ext16
        case 0xc9: width = 4; payload = 1; break;   //  ext32
        case 0xca: payload = 4; break;              //  float32
        case 0xcb: payload = 8; break;              //  float64
        case 0xcc: case 0xd0: payload = 1; break;   //  (u)int8
        case 0xcd: case 0xd1: payload = 2; break;   //  (u)int16
        case 0xce: case 0xd2: payload = 4; break;   //  (u)int32
        case 0xcf: case 0xd3: payload = 8; break;   //  (u)int64
        case 0xd4: payload = 2; break;              //  fixext1 (+ type)
        case 0xd5: payload = 3; break;              //  fixext2
        case 0xd6: payload = 5; break;              //  fixext4
        case 0xd7: payload = 9; break;              //  fixext8
        case 0xd8: payload = 17; break;             //  fixext16
        case 0xdc: case 0xde: width = 2; break;     //  array16, map16
        case 0xdd: case 0xdf: width = 4; break;     //  array32, map32
        default: return -1;                         //  0xc1, never used
    }
    if (width) {
        if (width > left)
            return -1;
        uint64_t count = s_read_be (data + *pos, width);
        *pos += width;
        left -= width;
        if (byte == 0xdc || byte == 0xdd)
            children = count;
        else
        if (byte == 0xde || byte == 0xdf)
            children = 2 * count;
        else
            payload += count;
    }
    if (payload > left || children > left)     //  each child is >= 1 byte
        return -1;
    *pos += payload;
    for (uint64_t index = 0; index < children; index++)
        if (s_prescan_object (data, size, pos, depth + 1))
            return -1;
    return 0;
}


//  --------------------------------------------------------------------------
//  Decoder, step 3: fields against their declarations

static int
s_decode_field (const field_t *field, const msgpack_object *object, uint8_t *base,
                char *why, size_t why_size)
{
    void *at = base + field->offset;
    switch (field->kind) {
        case KIND_BOOL:
            if (object->type != MSGPACK_OBJECT_BOOLEAN)
                break;
            *(bool *) at = object->via.boolean;
            return 0;
        case KIND_I64: {
            //  min is never negative in our contract, so a negative integer
            //  is out of range and only POSITIVE_INTEGER can pass
            if (object->type != MSGPACK_OBJECT_POSITIVE_INTEGER
            ||  object->via.u64 > field->max || object->via.u64 < field->min) {
                s_why (why, why_size, "field %s: not an integer in range", field->name);
                return -1;
            }
            *(int64_t *) at = (int64_t) object->via.u64;
            return 0;
        }
        case KIND_STR: {
            if (object->type != MSGPACK_OBJECT_STR)
                break;
            uint32_t length = object->via.str.size;
            //  An empty string may come with a NULL pointer: touch it only
            //  when there are bytes.
            if (length < field->min || length > field->max
            ||  (length && memchr (object->via.str.ptr, '\0', length))) {
                s_why (why, why_size, "field %s: string of %u bytes out of bounds or with NUL",
                       field->name, length);
                return -1;
            }
            if (length)
                memcpy (at, object->via.str.ptr, length);
            ((char *) at) [length] = '\0';
            return 0;
        }
        case KIND_RANGES: {
            if (object->type != MSGPACK_OBJECT_ARRAY)
                break;
            uint32_t items = object->via.array.size;
            if (items % 2 || items / 2 > field->max) {
                s_why (why, why_size, "field %s: %u items", field->name, items);
                return -1;
            }
            sq_ranges_t *ranges = (sq_ranges_t *) at;
            ranges->count = (uint8_t) (items / 2);
            for (uint32_t index = 0; index < items; index += 2) {
                const msgpack_object *low = &object->via.array.ptr [index];
                const msgpack_object *high = &object->via.array.ptr [index + 1];
                if (low->type != MSGPACK_OBJECT_POSITIVE_INTEGER
                ||  high->type != MSGPACK_OBJECT_POSITIVE_INTEGER
                ||  low->via.u64 > 999 || high->via.u64 > 999
                ||  !s_range_valid ((uint16_t) low->via.u64, (uint16_t) high->via.u64)) {
                    s_why (why, why_size, "field %s: bad status range", field->name);
                    return -1;
                }
                ranges->low [index / 2] = (uint16_t) low->via.u64;
                ranges->high [index / 2] = (uint16_t) high->via.u64;
            }
            return 0;
        }
        case KIND_WINDOWS: {
            if (object->type != MSGPACK_OBJECT_ARRAY)
                break;
            uint32_t items = object->via.array.size;
            if (items % 3 || items / 3 > field->max) {
                s_why (why, why_size, "field %s: %u items", field->name, items);
                return -1;
            }
            sq_windows_t *windows = (sq_windows_t *) at;
            windows->count = (uint8_t) (items / 3);
            for (uint32_t index = 0; index < items; index += 3) {
                const msgpack_object *item = &object->via.array.ptr [index];
                sq_window_t *window = &windows->window [index / 3];
                if (item [0].type != MSGPACK_OBJECT_POSITIVE_INTEGER
                ||  item [1].type != MSGPACK_OBJECT_POSITIVE_INTEGER
                ||  item [2].type != MSGPACK_OBJECT_POSITIVE_INTEGER
                ||  item [0].via.u64 > INT64_MAX || item [1].via.u64 > UINT32_MAX
                ||  item [2].via.u64 > UINT32_MAX) {
                    s_why (why, why_size, "field %s: bad window", field->name);
                    return -1;
                }
                window->start_s = (int64_t) item [0].via.u64;
                window->length_s = (uint32_t) item [1].via.u64;
                window->every_s = (uint32_t) item [2].via.u64;
                if (!sq_window_valid (window)) {
                    s_why (why, why_size, "field %s: bad window", field->name);
                    return -1;
                }
            }
            return 0;
        }
        case KIND_DAYS: {
            if (object->type != MSGPACK_OBJECT_ARRAY)
                break;
            uint32_t items = object->via.array.size;
            if (items > field->max) {
                s_why (why, why_size, "field %s: %u items", field->name, items);
                return -1;
            }
            sq_days_t *days = (sq_days_t *) at;
            days->count = (uint8_t) items;
            for (uint32_t index = 0; index < items; index++) {
                const msgpack_object *item = &object->via.array.ptr [index];
                if (item->type != MSGPACK_OBJECT_POSITIVE_INTEGER
                ||  item->via.u64 < 1 || item->via.u64 > SQ_DAYS_VALUE_MAX) {
                    s_why (why, why_size, "field %s: bad day count", field->name);
                    return -1;
                }
                days->day [index] = (uint16_t) item->via.u64;
            }
            return 0;
        }
        default: {
            if (object->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
                break;
            uint64_t value = object->via.u64;
            if (value < field->min || value > field->max) {
                s_why (why, why_size, "field %s: %llu out of range", field->name,
                       (unsigned long long) value);
                return -1;
            }
            if (field->kind == KIND_U64)        *(uint64_t *) at = value;
            else if (field->kind == KIND_U32)   *(uint32_t *) at = (uint32_t) value;
            else if (field->kind == KIND_U16)   *(uint16_t *) at = (uint16_t) value;
            else                                *(uint8_t *) at = (uint8_t) value;
            return 0;
        }
    }
    s_why (why, why_size, "field %s: wrong type", field->name);
    return -1;
}

static int
s_decode_tree (const msgpack_object *root, sq_msg_t *msg, char *why, size_t why_size)
{
    if (root->type != MSGPACK_OBJECT_ARRAY || root->via.array.size < 2) {
        s_why (why, why_size, "not an array of version, type, fields");
        return SQ_PROTO_MALFORMED;
    }
    const msgpack_object *items = root->via.array.ptr;
    if (items [0].type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
        s_why (why, why_size, "version is not an unsigned integer");
        return SQ_PROTO_MALFORMED;
    }
    if (items [0].via.u64 != SQ_PROTO_VERSION) {
        s_why (why, why_size, "protocol version %llu, we speak %d",
               (unsigned long long) items [0].via.u64, SQ_PROTO_VERSION);
        return SQ_PROTO_BAD_VERSION;
    }
    const message_t *message = NULL;
    if (items [1].type == MSGPACK_OBJECT_POSITIVE_INTEGER && items [1].via.u64 < 256)
        message = s_message_lookup ((int) items [1].via.u64);
    if (!message) {
        s_why (why, why_size, "unknown message type");
        return SQ_PROTO_MALFORMED;
    }
    if (root->via.array.size != 2 + message->field_count) {
        s_why (why, why_size, "%s with %u fields, expected %zu", message->name,
               root->via.array.size - 2, message->field_count);
        return SQ_PROTO_MALFORMED;
    }
    uint8_t *base = (uint8_t *) msg + message->offset;
    for (size_t index = 0; index < message->field_count; index++)
        if (s_decode_field (&message->fields [index], &items [2 + index], base, why, why_size))
            return SQ_PROTO_MALFORMED;
    msg->type = (sq_msg_type_t) message->id;
    return SQ_PROTO_OK;
}

//  Each thread decodes into a msgpack zone of its own, cleared after every
//  message (to its first chunk) and freed when the thread ends: a zone made
//  and freed per message was an allocation per message in every actor
//  (13 % of a 100,000-site start).
static pthread_key_t s_zone_key;
static pthread_once_t s_zone_once = PTHREAD_ONCE_INIT;

static void
s_zone_free (void *zone)
{
    msgpack_zone_free ((msgpack_zone *) zone);
}

static void
s_zone_key_new (void)
{
    int rc = pthread_key_create (&s_zone_key, s_zone_free);
    assert (rc == 0);
    (void) rc;
}

static msgpack_zone *
s_thread_zone (void)
{
    pthread_once (&s_zone_once, s_zone_key_new);
    msgpack_zone *zone = (msgpack_zone *) pthread_getspecific (s_zone_key);
    if (!zone) {
        zone = msgpack_zone_new (4 * SQ_FRAME_MAX);
        if (zone && pthread_setspecific (s_zone_key, zone)) {
            msgpack_zone_free (zone);
            zone = NULL;
        }
    }
    return zone;
}

int
sq_msg_decode (const void *data, size_t size, sq_msg_t *msg, char *why, size_t why_size)
{
    memset (msg, 0, sizeof (*msg));
    if (!data || size == 0 || size > SQ_FRAME_MAX) {
        s_why (why, why_size, "frame of %zu bytes (limit %d)", size, SQ_FRAME_MAX);
        return SQ_PROTO_MALFORMED;
    }
    size_t pos = 0;
    if (s_prescan_object ((const uint8_t *) data, size, &pos, 0) || pos != size) {
        s_why (why, why_size, "not one well-formed msgpack object");
        return SQ_PROTO_MALFORMED;
    }
    msgpack_zone *zone = s_thread_zone ();
    msgpack_object root;
    size_t offset = 0;
    int rc = SQ_PROTO_MALFORMED;
    if (zone && msgpack_unpack ((const char *) data, size, &offset, zone, &root)
                == MSGPACK_UNPACK_SUCCESS
    &&  offset == size)
        rc = s_decode_tree (&root, msg, why, why_size);
    else
        s_why (why, why_size, "msgpack unpack failed");
    if (zone)
        msgpack_zone_clear (zone);
    if (rc != SQ_PROTO_OK)
        memset (msg, 0, sizeof (*msg));
    return rc;
}


//  --------------------------------------------------------------------------
//  Names

static const char *s_method_names [SQ_METHOD_COUNT] = { "HEAD", "GET" };
static const char *s_reason_names [SQ_REASON_COUNT] = {
    "ok", "dns", "connect", "tls", "timeout", "http_status",
    "keyword", "too_slow", "redirects", "protocol"
};
static const char *s_state_names [SQ_STATE_COUNT] = {
    "unknown", "up", "suspect", "down", "degraded", "unmonitored"
};

const char *
sq_msg_type_name (sq_msg_type_t type)
{
    const message_t *message = s_message_lookup ((int) type);
    return message ? message->name : "?";
}

const char *
sq_method_name (sq_method_t method)
{
    return (unsigned) method < SQ_METHOD_COUNT ? s_method_names [method] : "?";
}

const char *
sq_reason_name (sq_reason_t reason)
{
    return (unsigned) reason < SQ_REASON_COUNT ? s_reason_names [reason] : "?";
}

const char *
sq_state_name (sq_state_t state)
{
    return (unsigned) state < SQ_STATE_COUNT ? s_state_names [state] : "?";
}

int
sq_method_from_name (const char *name)
{
    for (int index = 0; name && index < SQ_METHOD_COUNT; index++)
        if (strcasecmp (name, s_method_names [index]) == 0)
            return index;
    return -1;
}

int
sq_reason_from_name (const char *name)
{
    for (int index = 0; name && index < SQ_REASON_COUNT; index++)
        if (strcmp (name, s_reason_names [index]) == 0)
            return index;
    return -1;
}


//  --------------------------------------------------------------------------
//  Status ranges

//  Read a status code at text[*pos]; -1 unless it is 3 digits, 100..999.
static int
s_parse_status (const char *text, size_t *pos)
{
    int value = 0, digits = 0;
    while (text [*pos] >= '0' && text [*pos] <= '9' && digits < 4) {
        value = value * 10 + (text [*pos] - '0');
        (*pos)++;
        digits++;
    }
    return digits == 3 && value >= 100 ? value : -1;
}

int
sq_ranges_parse (const char *text, sq_ranges_t *ranges, size_t *error_at)
{
    memset (ranges, 0, sizeof (*ranges));
    size_t pos = 0;
    while (true) {
        while (text [pos] == ' ')
            pos++;
        size_t start = pos;
        int low = s_parse_status (text, &pos);
        int high = low;
        if (low >= 0 && text [pos] == '-') {
            pos++;
            high = s_parse_status (text, &pos);
        }
        if (low < 0 || high < 0 || high < low || ranges->count == SQ_RANGES_MAX) {
            if (error_at)
                *error_at = low < 0 || ranges->count == SQ_RANGES_MAX ? start : pos;
            return -1;
        }
        ranges->low [ranges->count] = (uint16_t) low;
        ranges->high [ranges->count] = (uint16_t) high;
        ranges->count++;
        while (text [pos] == ' ')
            pos++;
        if (text [pos] == '\0')
            return 0;
        if (text [pos] != ',') {
            if (error_at)
                *error_at = pos;
            return -1;
        }
        pos++;
    }
}

bool
sq_ranges_accept (const sq_ranges_t *ranges, unsigned status)
{
    if (ranges->count == 0)
        return status > 0 && status < 400;
    for (unsigned index = 0; index < ranges->count; index++)
        if (status >= ranges->low [index] && status <= ranges->high [index])
            return true;
    return false;
}

int64_t
sq_wallclock_us (void)
{
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    return (int64_t) now.tv_sec * 1000000 + now.tv_nsec / 1000;
}
