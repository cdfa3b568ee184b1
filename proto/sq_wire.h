/*  sq_wire.h: send and receive sq_msg_t over ZeroMQ sockets.

    A message travels as one frame, optionally preceded by one "head" frame:
    the peer identity on ROUTER sockets, or the topic on PUB/SUB.  Receive
    treats every frame as hostile: more than two frames, a head larger than
    the caller's buffer, or a body that fails sq_msg_decode is malformed,
    and the rest of the multipart message is drained so the next receive
    starts clean.
*/
#ifndef SQ_WIRE_H_INCLUDED
#define SQ_WIRE_H_INCLUDED

#include <czmq.h>
#include "sq_proto.h"

//  Encode msg and send it on sock, after a head frame when head is not
//  NULL.  Returns 0, or -1 (encoding refused or the socket would not take
//  it; nothing is sent in either case).
int sq_wire_send (zsock_t *sock, const void *head, size_t head_size, const sq_msg_t *msg);

//  Receive one message.  When head is not NULL the message must have a head
//  frame, copied into head (at most *head_size bytes; *head_size is set to
//  its length).  Returns SQ_PROTO_OK, SQ_PROTO_MALFORMED, SQ_PROTO_BAD_VERSION,
//  or SQ_WIRE_INTERRUPTED when nothing could be read.
#define SQ_WIRE_INTERRUPTED -3
int sq_wire_recv (zsock_t *sock, void *head, size_t *head_size, sq_msg_t *msg,
                  char *why, size_t why_size);

//  Receive one message an actor expects: its type must be in types (a mask
//  of SQ_WIRE_TYPE bits).  Anything else is refused as hostile: one warning
//  "<who>: <why>" (who names the actor and the peer, e.g. "collector:
//  dropped a frame from a pinger") and *malformed + 1.  Returns SQ_PROTO_OK,
//  SQ_WIRE_INTERRUPTED, or SQ_PROTO_MALFORMED (already logged and counted).
#define SQ_WIRE_TYPE(type) (1u << (type))
int sq_wire_recv_expect (zsock_t *sock, void *head, size_t *head_size, sq_msg_t *msg,
                         unsigned types, const char *who, uint64_t *malformed);

//  sq_wire_recv_expect, also telling who sent it: the ZAP User-Id of the
//  link, which for our CURVE servers is the peer's public key (Z85, 40
//  characters); "" over inproc and ipc.  peer holds at least 41 bytes.
#define SQ_WIRE_PEER_MAX 64
int sq_wire_recv_from (zsock_t *sock, void *head, size_t *head_size, sq_msg_t *msg,
                       unsigned types, const char *who, uint64_t *malformed,
                       char *peer, size_t peer_size);

#endif
