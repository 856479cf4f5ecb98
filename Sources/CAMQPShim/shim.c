#include "tl_amqp.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

struct tl_amqp {
    amqp_connection_state_t conn;
    int open;            // logged in with channel 1 open
    int server_code;
    char error[512];
    int blocked;         // connection.blocked received, no connection.unblocked since
    char blocked_reason[256];
};

static const amqp_channel_t CH = 1;

static void set_error(tl_amqp *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->error, sizeof c->error, fmt, ap);
    va_end(ap);
}

/// Declares happen on their own channel: a refused declare closes only that channel, never
/// the one publishing or consuming.
static const amqp_channel_t DECLARE_CH = 2;

static void set_close_error_on(tl_amqp *c, const char *what, amqp_method_t *m, amqp_channel_t ch);

static void set_close_error(tl_amqp *c, const char *what, amqp_method_t *m) { set_close_error_on(c, what, m, CH); }

static void set_close_error_on(tl_amqp *c, const char *what, amqp_method_t *m, amqp_channel_t ch) {
    if (m->id == AMQP_CONNECTION_CLOSE_METHOD) {
        amqp_connection_close_t *d = (amqp_connection_close_t *)m->decoded;
        c->server_code = d->reply_code;
        set_error(c, "%s: server closed the connection: %d %.*s", what, d->reply_code,
                  (int)d->reply_text.len, (const char *)d->reply_text.bytes);
        // Answer the close so the server does not wait for us.
        amqp_connection_close_ok_t ok;
        amqp_send_method(c->conn, 0, AMQP_CONNECTION_CLOSE_OK_METHOD, &ok);
    } else if (m->id == AMQP_CHANNEL_CLOSE_METHOD) {
        amqp_channel_close_t *d = (amqp_channel_close_t *)m->decoded;
        c->server_code = d->reply_code;
        set_error(c, "%s: server closed the channel: %d %.*s", what, d->reply_code,
                  (int)d->reply_text.len, (const char *)d->reply_text.bytes);
        amqp_channel_close_ok_t ok;
        amqp_send_method(c->conn, ch, AMQP_CHANNEL_CLOSE_OK_METHOD, &ok);
        // Another channel's close leaves the connection and channel 1 open.
        if (ch != CH) return;
    } else {
        set_error(c, "%s: unexpected method 0x%08x", what, m->id);
    }
    c->open = 0;
}

/// 0 when the reply (to an RPC on channel `ch`) is normal; otherwise records the error and returns -1.
static int check_reply_on(tl_amqp *c, amqp_rpc_reply_t r, const char *what, amqp_channel_t ch) {
    switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        return 0;
    case AMQP_RESPONSE_NONE:
        set_error(c, "%s: no reply (missing RPC reply type)", what);
        break;
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        set_error(c, "%s: %s", what, amqp_error_string2(r.library_error));
        break;
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        set_close_error_on(c, what, &r.reply, ch);
        return -1;
    }
    c->open = 0;
    return -1;
}

static int check_reply(tl_amqp *c, amqp_rpc_reply_t r, const char *what) { return check_reply_on(c, r, what, CH); }

static int check_status(tl_amqp *c, int status, const char *what) {
    if (status == AMQP_STATUS_OK) return 0;
    set_error(c, "%s: %s", what, amqp_error_string2(status));
    c->open = 0;
    return -1;
}

tl_amqp *tl_amqp_new(void) {
    tl_amqp *c = calloc(1, sizeof *c);
    return c;
}

static void teardown(tl_amqp *c) {
    if (!c->conn) return;
    if (c->open) {
        amqp_channel_close(c->conn, CH, AMQP_REPLY_SUCCESS);
        amqp_connection_close(c->conn, AMQP_REPLY_SUCCESS);
    }
    amqp_destroy_connection(c->conn);
    c->conn = NULL;
    c->open = 0;
}

void tl_amqp_free(tl_amqp *c) {
    if (!c) return;
    teardown(c);
    free(c);
}

const char *tl_amqp_error(const tl_amqp *c) { return c->error; }
int tl_amqp_server_code(const tl_amqp *c) { return c->server_code; }

int tl_amqp_open(tl_amqp *c, const char *host, int port, const char *vhost, const char *user,
                 const char *password, int heartbeat_s, int connect_timeout_ms, const char *connection_name) {
    teardown(c);
    c->server_code = 0;
    c->error[0] = 0;
    c->blocked = 0;
    c->blocked_reason[0] = 0;
    c->conn = amqp_new_connection();
    if (!c->conn) { set_error(c, "out of memory"); return -1; }
    amqp_socket_t *sock = amqp_tcp_socket_new(c->conn);
    if (!sock) { set_error(c, "cannot create a TCP socket"); return -1; }
    struct timeval tv = { connect_timeout_ms / 1000, (connect_timeout_ms % 1000) * 1000 };
    int st = amqp_socket_open_noblock(sock, host, port, &tv);
    if (st != AMQP_STATUS_OK) {
        set_error(c, "connect %s:%d: %s", host, port, amqp_error_string2(st));
        return -1;
    }
    // RPCs (declare, qos, ...) must not hang forever on a dead broker.
    struct timeval rpc = { 30, 0 };
    amqp_set_rpc_timeout(c->conn, &rpc);

    // Capabilities beside rabbitmq-c's own: without consumer_cancel_notify the broker
    // would not tell a consumer that its queue was deleted (it would wait forever); without
    // connection.blocked it would stop reading a publisher's socket during a resource alarm
    // (memory, disk) without saying why.
    amqp_table_entry_t caps[4];
    const char *cap_names[4] = { "consumer_cancel_notify", "publisher_confirms", "basic.nack", "connection.blocked" };
    for (int i = 0; i < 4; i++) {
        caps[i].key = amqp_cstring_bytes(cap_names[i]);
        caps[i].value.kind = AMQP_FIELD_KIND_BOOLEAN;
        caps[i].value.value.boolean = 1;
    }
    amqp_table_entry_t props[2];
    props[0].key = amqp_cstring_bytes("connection_name");
    props[0].value.kind = AMQP_FIELD_KIND_UTF8;
    props[0].value.value.bytes = amqp_cstring_bytes(connection_name ? connection_name : "tradelog");
    props[1].key = amqp_cstring_bytes("capabilities");
    props[1].value.kind = AMQP_FIELD_KIND_TABLE;
    props[1].value.value.table.num_entries = 4;
    props[1].value.value.table.entries = caps;
    amqp_table_t table = { 2, props };
    amqp_rpc_reply_t r = amqp_login_with_properties(c->conn, vhost, 0, 131072, heartbeat_s, &table,
                                                    AMQP_SASL_METHOD_PLAIN, user, password);
    if (check_reply(c, r, "login") != 0) return -1;
    amqp_channel_open(c->conn, CH);
    if (check_reply(c, amqp_get_rpc_reply(c->conn), "channel.open") != 0) return -1;
    c->open = 1;
    return 0;
}

int tl_amqp_confirm_select(tl_amqp *c) {
    amqp_confirm_select(c->conn, CH);
    return check_reply(c, amqp_get_rpc_reply(c->conn), "confirm.select");
}

int tl_amqp_declare_queue(tl_amqp *c, const char *queue, int durable, int64_t ttl_ms, int64_t max_length) {
    amqp_table_entry_t entries[2];
    int n = 0;
    if (ttl_ms >= 0) {
        entries[n].key = amqp_cstring_bytes("x-message-ttl");
        entries[n].value.kind = AMQP_FIELD_KIND_I64;
        entries[n].value.value.i64 = ttl_ms;
        n++;
    }
    if (max_length >= 0) {
        entries[n].key = amqp_cstring_bytes("x-max-length");
        entries[n].value.kind = AMQP_FIELD_KIND_I64;
        entries[n].value.value.i64 = max_length;
        n++;
    }
    amqp_table_t args = { n, entries };
    c->server_code = 0;
    amqp_channel_open(c->conn, DECLARE_CH);
    if (check_reply_on(c, amqp_get_rpc_reply(c->conn), "channel.open", DECLARE_CH) != 0) return -1;
    amqp_queue_declare(c->conn, DECLARE_CH, amqp_cstring_bytes(queue), 0, durable ? 1 : 0, 0, 0, args);
    int declared = check_reply_on(c, amqp_get_rpc_reply(c->conn), "queue.declare", DECLARE_CH);
    if (declared != 0) {
        // PRECONDITION_FAILED: the queue exists with other arguments (another system declared
        // it first). It is used as it is: a passive declare checks that it exists.
        if (c->server_code != 406 || !c->open) return -1;
        char refused[sizeof c->error];
        memcpy(refused, c->error, sizeof refused);
        amqp_channel_open(c->conn, DECLARE_CH);
        if (check_reply_on(c, amqp_get_rpc_reply(c->conn), "channel.open", DECLARE_CH) != 0) return -1;
        amqp_queue_declare(c->conn, DECLARE_CH, amqp_cstring_bytes(queue), 1, 0, 0, 0, amqp_empty_table);
        if (check_reply_on(c, amqp_get_rpc_reply(c->conn), "queue.declare (passive)", DECLARE_CH) != 0) return -1;
        memcpy(c->error, refused, sizeof refused);
        // Handled: a later failure of another kind must not read as this refusal.
        c->server_code = 0;
    }
    if (check_reply_on(c, amqp_channel_close(c->conn, DECLARE_CH, AMQP_REPLY_SUCCESS), "channel.close", DECLARE_CH) != 0) return -1;
    return declared == 0 ? 0 : 1;
}

int64_t tl_amqp_delete_queue(tl_amqp *c, const char *queue) {
    amqp_queue_delete_ok_t *ok = amqp_queue_delete(c->conn, CH, amqp_cstring_bytes(queue), 0, 0);
    if (check_reply(c, amqp_get_rpc_reply(c->conn), "queue.delete") != 0 || !ok) return -1;
    return ok->message_count;
}

int64_t tl_amqp_purge_queue(tl_amqp *c, const char *queue) {
    amqp_queue_purge_ok_t *ok = amqp_queue_purge(c->conn, CH, amqp_cstring_bytes(queue));
    if (check_reply(c, amqp_get_rpc_reply(c->conn), "queue.purge") != 0 || !ok) return -1;
    return ok->message_count;
}

int tl_amqp_publish(tl_amqp *c, const char *routing_key, const void *body, size_t body_len,
                    const char *message_id, const char *type, int64_t timestamp, int persistent,
                    const char *const *header_keys, const char *const *header_values, int header_count,
                    const char *int_header_key, int64_t int_header_value, int mandatory) {
    amqp_basic_properties_t p;
    memset(&p, 0, sizeof p);
    p._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
    p.content_type = amqp_cstring_bytes("application/json");
    p.delivery_mode = persistent ? 2 : 1;
    if (message_id) { p._flags |= AMQP_BASIC_MESSAGE_ID_FLAG; p.message_id = amqp_cstring_bytes(message_id); }
    if (type) { p._flags |= AMQP_BASIC_TYPE_FLAG; p.type = amqp_cstring_bytes(type); }
    if (timestamp >= 0) { p._flags |= AMQP_BASIC_TIMESTAMP_FLAG; p.timestamp = (uint64_t)timestamp; }
    amqp_table_entry_t entries[16];
    int n = 0;
    for (int i = 0; i < header_count && n < 15; i++) {
        entries[n].key = amqp_cstring_bytes(header_keys[i]);
        entries[n].value.kind = AMQP_FIELD_KIND_UTF8;
        entries[n].value.value.bytes = amqp_cstring_bytes(header_values[i]);
        n++;
    }
    if (int_header_key) {
        entries[n].key = amqp_cstring_bytes(int_header_key);
        entries[n].value.kind = AMQP_FIELD_KIND_I64;
        entries[n].value.value.i64 = int_header_value;
        n++;
    }
    if (n > 0) {
        p._flags |= AMQP_BASIC_HEADERS_FLAG;
        p.headers.num_entries = n;
        p.headers.entries = entries;
    }
    amqp_bytes_t b = { body_len, (void *)body };
    int st = amqp_basic_publish(c->conn, CH, amqp_empty_bytes, amqp_cstring_bytes(routing_key),
                                mandatory ? 1 : 0, 0, &p, b);
    return check_status(c, st, "basic.publish");
}

/// connection.blocked / connection.unblocked: the broker's flow control of publishers.
static void note_blocked(tl_amqp *c, amqp_method_t *m) {
    if (m->id == AMQP_CONNECTION_BLOCKED_METHOD) {
        amqp_connection_blocked_t *b = (amqp_connection_blocked_t *)m->decoded;
        c->blocked = 1;
        snprintf(c->blocked_reason, sizeof c->blocked_reason, "%.*s", (int)b->reason.len, (const char *)b->reason.bytes);
        if (c->blocked_reason[0] == 0) snprintf(c->blocked_reason, sizeof c->blocked_reason, "no reason given");
    } else {
        c->blocked = 0;
        c->blocked_reason[0] = 0;
    }
}

const char *tl_amqp_blocked(const tl_amqp *c) { return c->blocked ? c->blocked_reason : NULL; }

/// Reads one frame: 1 read, 0 timeout, -1 error.
static int read_frame(tl_amqp *c, int timeout_ms, amqp_frame_t *f, const char *what) {
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    int st = amqp_simple_wait_frame_noblock(c->conn, f, &tv);
    if (st == AMQP_STATUS_TIMEOUT) return 0;
    if (st != AMQP_STATUS_OK) { check_status(c, st, what); return -1; }
    return 1;
}

int tl_amqp_read_confirms(tl_amqp *c, int timeout_ms, tl_amqp_confirm *out, int cap) {
    if (!c->open) { set_error(c, "confirms: connection is not open"); return -1; }
    int n = 0;
    int wait = timeout_ms;
    while (n < cap) {
        amqp_frame_t f;
        int got = read_frame(c, wait, &f, "confirms");
        if (got < 0) return -1;
        if (got == 0) break;
        wait = 0;  // after the first frame, take only what is already there
        if (f.frame_type != AMQP_FRAME_METHOD) continue;
        switch (f.payload.method.id) {
        case AMQP_BASIC_ACK_METHOD: {
            amqp_basic_ack_t *a = (amqp_basic_ack_t *)f.payload.method.decoded;
            out[n].delivery_tag = a->delivery_tag; out[n].kind = 1; out[n].multiple = a->multiple; n++;
            break;
        }
        case AMQP_BASIC_NACK_METHOD: {
            amqp_basic_nack_t *a = (amqp_basic_nack_t *)f.payload.method.decoded;
            out[n].delivery_tag = a->delivery_tag; out[n].kind = 2; out[n].multiple = a->multiple; n++;
            break;
        }
        case AMQP_BASIC_RETURN_METHOD: {
            // The returned message's header and body frames follow; drop them.
            amqp_message_t m;
            amqp_rpc_reply_t r = amqp_read_message(c->conn, f.channel, &m, 0);
            if (r.reply_type == AMQP_RESPONSE_NORMAL) amqp_destroy_message(&m);
            out[n].delivery_tag = 0; out[n].kind = 3; out[n].multiple = 0; n++;
            break;
        }
        case AMQP_CONNECTION_BLOCKED_METHOD:
        case AMQP_CONNECTION_UNBLOCKED_METHOD:
            note_blocked(c, &f.payload.method);
            break;
        case AMQP_CHANNEL_CLOSE_METHOD:
        case AMQP_CONNECTION_CLOSE_METHOD:
            set_close_error(c, "confirms", &f.payload.method);
            return -1;
        default:
            break;
        }
        if (!amqp_frames_enqueued(c->conn) && !amqp_data_in_buffer(c->conn)) break;
    }
    amqp_maybe_release_buffers(c->conn);
    return n;
}

int tl_amqp_qos(tl_amqp *c, int prefetch) {
    amqp_basic_qos(c->conn, CH, 0, (uint16_t)prefetch, 0);
    return check_reply(c, amqp_get_rpc_reply(c->conn), "basic.qos");
}

int tl_amqp_consume(tl_amqp *c, const char *queue) {
    amqp_basic_consume(c->conn, CH, amqp_cstring_bytes(queue), amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
    return check_reply(c, amqp_get_rpc_reply(c->conn), "basic.consume");
}

int tl_amqp_next_delivery(tl_amqp *c, int timeout_ms, tl_amqp_delivery *out) {
    if (!c->open) { set_error(c, "consume: connection is not open"); return -1; }
    memset(out, 0, sizeof *out);
    amqp_maybe_release_buffers(c->conn);
    amqp_envelope_t env;
    struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
    amqp_rpc_reply_t r = amqp_consume_message(c->conn, &env, &tv, 0);
    if (r.reply_type == AMQP_RESPONSE_NORMAL) {
        out->delivery_tag = env.delivery_tag;
        out->redelivered = env.redelivered ? 1 : 0;
        out->body_len = env.message.body.len;
        out->body = malloc(out->body_len ? out->body_len : 1);
        if (!out->body) { amqp_destroy_envelope(&env); set_error(c, "out of memory"); return -1; }
        if (out->body_len) memcpy(out->body, env.message.body.bytes, out->body_len);
        if (env.message.properties._flags & AMQP_BASIC_MESSAGE_ID_FLAG) {
            size_t len = env.message.properties.message_id.len;
            if (len > sizeof out->message_id - 1) len = sizeof out->message_id - 1;
            memcpy(out->message_id, env.message.properties.message_id.bytes, len);
            out->message_id[len] = 0;
        }
        if (env.message.properties._flags & AMQP_BASIC_HEADERS_FLAG) {
            amqp_table_t *t = &env.message.properties.headers;
            size_t need = 0;
            for (int i = 0; i < t->num_entries; i++) {
                if (t->entries[i].value.kind == AMQP_FIELD_KIND_UTF8 || t->entries[i].value.kind == AMQP_FIELD_KIND_BYTES)
                    need += t->entries[i].key.len + t->entries[i].value.value.bytes.len + 2;
            }
            if (need > 0 && (out->headers = malloc(need)) != NULL) {
                size_t at = 0;
                for (int i = 0; i < t->num_entries; i++) {
                    amqp_field_value_t *v = &t->entries[i].value;
                    if (v->kind != AMQP_FIELD_KIND_UTF8 && v->kind != AMQP_FIELD_KIND_BYTES) continue;
                    memcpy(out->headers + at, t->entries[i].key.bytes, t->entries[i].key.len);
                    at += t->entries[i].key.len;
                    out->headers[at++] = 0;
                    memcpy(out->headers + at, v->value.bytes.bytes, v->value.bytes.len);
                    at += v->value.bytes.len;
                    out->headers[at++] = 0;
                }
                out->headers_len = at;
            }
        }
        amqp_destroy_envelope(&env);
        return 1;
    }
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT) return 0;
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
        // Something other than a delivery: a close, a consumer cancel, or a stray frame.
        amqp_frame_t f;
        int got = read_frame(c, 0, &f, "consume");
        if (got <= 0) return got;
        if (f.frame_type == AMQP_FRAME_METHOD) {
            switch (f.payload.method.id) {
            case AMQP_CHANNEL_CLOSE_METHOD:
            case AMQP_CONNECTION_CLOSE_METHOD:
                set_close_error(c, "consume", &f.payload.method);
                return -1;
            case AMQP_BASIC_CANCEL_METHOD:
                set_error(c, "consume: the server cancelled the consumer (queue deleted?)");
                c->open = 0;
                return -1;
            case AMQP_CONNECTION_BLOCKED_METHOD:
            case AMQP_CONNECTION_UNBLOCKED_METHOD:
                note_blocked(c, &f.payload.method);
                break;
            default:
                break;
            }
        }
        return 0;
    }
    check_reply(c, r, "consume");
    return -1;
}

void tl_amqp_delivery_free(tl_amqp_delivery *d) {
    free(d->body);
    d->body = NULL;
    free(d->headers);
    d->headers = NULL;
}

int tl_amqp_ack(tl_amqp *c, uint64_t delivery_tag, int multiple) {
    return check_status(c, amqp_basic_ack(c->conn, CH, delivery_tag, multiple ? 1 : 0), "basic.ack");
}

int tl_amqp_reject(tl_amqp *c, uint64_t delivery_tag, int requeue) {
    return check_status(c, amqp_basic_reject(c->conn, CH, delivery_tag, requeue ? 1 : 0), "basic.reject");
}
