/*  sq_wire.c: sq_msg_t over ZeroMQ.  See sq_wire.h.
    Uses zmq_msg_t directly rather than zmsg_t: one receive per frame and no
    list allocation on the hot path of a pinger doing 10,000 checks/s.
*/
#include "sq_wire.h"

#include <string.h>

int
sq_wire_send (zsock_t *sock, const void *head, size_t head_size, const sq_msg_t *msg)
{
    uint8_t buffer [SQ_FRAME_MAX];
    int size = sq_msg_encode (msg, buffer, sizeof (buffer));
    if (size < 0) {
        zsys_error ("wire: refusing to send a %s that breaks the contract",
                    sq_msg_type_name (msg->type));
        return -1;
    }
    void *handle = zsock_resolve (sock);
    if (head && zmq_send (handle, head, head_size, ZMQ_SNDMORE) < 0)
        return -1;
    return zmq_send (handle, buffer, (size_t) size, 0) < 0 ? -1 : 0;
}

static void
s_drain (void *handle)
{
    int more = 1;
    size_t more_size = sizeof (more);
    while (zmq_getsockopt (handle, ZMQ_RCVMORE, &more, &more_size) == 0 && more) {
        zmq_msg_t part;
        zmq_msg_init (&part);
        int rc = zmq_msg_recv (&part, handle, 0);
        zmq_msg_close (&part);
        if (rc < 0)
            break;
    }
}

//  The sender's ZAP User-Id (for our CURVE servers: its public key in Z85)
//  into peer; "" when the link has none (inproc, ipc).
static void
s_peer (zmq_msg_t *frame, char *peer, size_t peer_size)
{
    if (!peer)
        return;
    const char *user = zmq_msg_gets (frame, "User-Id");
    snprintf (peer, peer_size, "%s", user ? user : "");
}

static int
s_recv (zsock_t *sock, void *head, size_t *head_size, sq_msg_t *msg,
        char *why, size_t why_size, char *peer, size_t peer_size)
{
    void *handle = zsock_resolve (sock);
    memset (msg, 0, sizeof (*msg));
    zmq_msg_t frame;
    zmq_msg_init (&frame);
    if (zmq_msg_recv (&frame, handle, 0) < 0) {
        zmq_msg_close (&frame);
        return SQ_WIRE_INTERRUPTED;
    }
    int rc = SQ_PROTO_MALFORMED;
    if (head) {
        size_t size = zmq_msg_size (&frame);
        if (!zmq_msg_more (&frame) || size > *head_size) {
            if (why)
                snprintf (why, why_size, "head frame missing or %zu bytes", size);
            goto done;
        }
        memcpy (head, zmq_msg_data (&frame), size);
        *head_size = size;
        zmq_msg_close (&frame);
        zmq_msg_init (&frame);
        if (zmq_msg_recv (&frame, handle, 0) < 0) {
            zmq_msg_close (&frame);
            return SQ_WIRE_INTERRUPTED;
        }
    }
    if (zmq_msg_more (&frame)) {
        if (why)
            snprintf (why, why_size, "too many frames");
        goto done;
    }
    rc = sq_msg_decode (zmq_msg_data (&frame), zmq_msg_size (&frame), msg, why, why_size);
    s_peer (&frame, peer, peer_size);
done:
    if (zmq_msg_more (&frame))
        s_drain (handle);
    zmq_msg_close (&frame);
    return rc;
}

int
sq_wire_recv (zsock_t *sock, void *head, size_t *head_size, sq_msg_t *msg,
              char *why, size_t why_size)
{
    return s_recv (sock, head, head_size, msg, why, why_size, NULL, 0);
}

int
sq_wire_recv_expect (zsock_t *sock, void *head, size_t *head_size, sq_msg_t *msg,
                     unsigned types, const char *who, uint64_t *malformed)
{
    return sq_wire_recv_from (sock, head, head_size, msg, types, who, malformed, NULL, 0);
}

int
sq_wire_recv_from (zsock_t *sock, void *head, size_t *head_size, sq_msg_t *msg,
                   unsigned types, const char *who, uint64_t *malformed,
                   char *peer, size_t peer_size)
{
    char why [128] = "";
    if (peer && peer_size)
        *peer = '\0';
    int rc = s_recv (sock, head, head_size, msg, why, sizeof (why), peer, peer_size);
    if (rc == SQ_WIRE_INTERRUPTED)
        return rc;
    if (rc == SQ_PROTO_OK && (SQ_WIRE_TYPE (msg->type) & types))
        return SQ_PROTO_OK;
    if (rc == SQ_PROTO_OK)
        snprintf (why, sizeof (why), "unexpected %s", sq_msg_type_name (msg->type));
    (*malformed)++;
    zsys_warning ("%s: %s", who, why);
    return SQ_PROTO_MALFORMED;
}
