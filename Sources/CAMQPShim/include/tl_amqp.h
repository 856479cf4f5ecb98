#ifndef TRADELOG_TL_AMQP_H
#define TRADELOG_TL_AMQP_H
// A small C layer over rabbitmq-c 0.11 (Debian 12): it hides the variadic amqp_login, the
// field tables of queue arguments and message headers, and the frame-level reading that
// publisher confirms need in 0.11 (which has no amqp_publisher_confirm_wait). One
// tl_amqp is one connection with one channel (1); it is not thread-safe: the Swift side
// keeps each on its own thread.
#include <stddef.h>
#include <stdint.h>

typedef struct tl_amqp tl_amqp;

typedef struct tl_amqp_confirm {
    uint64_t delivery_tag;
    int kind;      // 1 ack, 2 nack, 3 returned (unroutable; its ack follows)
    int multiple;  // ack/nack: applies to every tag up to delivery_tag
} tl_amqp_confirm;

typedef struct tl_amqp_delivery {
    uint64_t delivery_tag;
    int redelivered;
    void *body;          // malloc'd copy, free with tl_amqp_delivery_free
    size_t body_len;
    char message_id[256];  // empty when absent (truncated at 255 bytes)
    char *headers;         // string-valued headers as "key\0value\0..." (malloc'd, or NULL)
    size_t headers_len;
} tl_amqp_delivery;

tl_amqp *tl_amqp_new(void);
/// Closes politely if open, then frees everything.
void tl_amqp_free(tl_amqp *c);
/// The last error as text (never contains the password).
const char *tl_amqp_error(const tl_amqp *c);
/// The reply code of the last server-side close (e.g. 404, 406, 320), 0 if none.
int tl_amqp_server_code(const tl_amqp *c);

/// TCP connect (with timeout), PLAIN login, channel 1. 0 on success, -1 on error.
int tl_amqp_open(tl_amqp *c, const char *host, int port, const char *vhost, const char *user,
                 const char *password, int heartbeat_s, int connect_timeout_ms, const char *connection_name);
int tl_amqp_confirm_select(tl_amqp *c);
/// queue.declare (on a channel of its own); ttl_ms / max_length < 0 leave the argument out.
/// 0: declared; 1: the queue exists with other arguments (the server refused the declare
/// with 406) and is used as it is (the refusal stays in tl_amqp_error); -1: error.
int tl_amqp_declare_queue(tl_amqp *c, const char *queue, int durable, int64_t ttl_ms, int64_t max_length);
/// queue.delete (if_unused = if_empty = false). Returns the message count deleted, or -1.
int64_t tl_amqp_delete_queue(tl_amqp *c, const char *queue);
/// queue.purge. Returns the message count purged, or -1.
int64_t tl_amqp_purge_queue(tl_amqp *c, const char *queue);

/// basic.publish to the default exchange. String headers come as parallel key/value
/// arrays; one optional integer header (int_key NULL to leave it out). Properties left
/// NULL (message_id, type) or < 0 (timestamp) are not set.
int tl_amqp_publish(tl_amqp *c, const char *routing_key, const void *body, size_t body_len,
                    const char *message_id, const char *type, int64_t timestamp, int persistent,
                    const char *const *header_keys, const char *const *header_values, int header_count,
                    const char *int_header_key, int64_t int_header_value, int mandatory);
/// Reads confirms: waits up to timeout_ms for the first (0: just polls), then takes what is
/// already buffered, up to cap. Returns how many were read, or -1 when the channel or the
/// connection is gone (error text and server code set). Also what keeps an idle
/// publisher's heartbeats going: rabbitmq-c only sends and checks them inside its calls.
int tl_amqp_read_confirms(tl_amqp *c, int timeout_ms, tl_amqp_confirm *out, int cap);
/// The broker's reason when it has blocked this connection's publishing (connection.blocked,
/// a resource alarm: memory or disk) and not unblocked it since, as far as the frames read
/// so far tell; NULL otherwise.
const char *tl_amqp_blocked(const tl_amqp *c);

int tl_amqp_qos(tl_amqp *c, int prefetch);
int tl_amqp_consume(tl_amqp *c, const char *queue);
/// 1: a delivery in *out; 0: none within timeout_ms; -1: error (connection or channel gone).
int tl_amqp_next_delivery(tl_amqp *c, int timeout_ms, tl_amqp_delivery *out);
void tl_amqp_delivery_free(tl_amqp_delivery *d);
int tl_amqp_ack(tl_amqp *c, uint64_t delivery_tag, int multiple);
int tl_amqp_reject(tl_amqp *c, uint64_t delivery_tag, int requeue);

#endif
