/*  fuzz_decode.c: libFuzzer target for the wire decoder.
    Invariants checked on every input: the decoder never crashes or leaks;
    it answers OK, MALFORMED or BAD_VERSION; and whatever it accepts, the
    encoder takes back and encodes to bytes that decode to the same message.
*/
#include "sq_proto.h"

#include <stdlib.h>
#include <string.h>

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    sq_msg_t msg;
    char why [128];
    int rc = sq_msg_decode (data, size, &msg, why, sizeof (why));
    if (rc != SQ_PROTO_OK && rc != SQ_PROTO_MALFORMED && rc != SQ_PROTO_BAD_VERSION)
        abort ();
    if (rc != SQ_PROTO_OK)
        return 0;
    uint8_t buffer [SQ_FRAME_MAX];
    int encoded = sq_msg_encode (&msg, buffer, sizeof (buffer));
    if (encoded < 0)
        abort ();               //  accepted something the encoder refuses
    sq_msg_t again;
    if (sq_msg_decode (buffer, (size_t) encoded, &again, why, sizeof (why)) != SQ_PROTO_OK
    ||  again.type != msg.type)
        abort ();
    uint8_t second [SQ_FRAME_MAX];
    if (sq_msg_encode (&again, second, sizeof (second)) != encoded
    ||  memcmp (buffer, second, (size_t) encoded) != 0)
        abort ();
    return 0;
}
