/// Acks, pongs and auth replies, per channel, with the shapes of the real captures
/// (`ws_subscribe_ack_*`, `ws_pong_*`, `ws_auth_*`, `ws_subscribe_errors.jsonl`).
public enum ControlFrames {
    public enum Channel: Sendable { case spot, linear, `private` }

    /// Subscribe/unsubscribe/other command result. Spot: `ret_msg` is the op on success and
    /// `req_id` only when sent; linear: `req_id` always (`""`); private: `req_id` first when sent.
    public static func commandAck(
        channel: Channel, op: String, success: Bool, retMsg: String?, connId: String, reqId: String?
    ) -> [UInt8] {
        var j = JSONOut(capacity: 160)
        j.openObject()
        switch channel {
        case .spot:
            j.field("success", bool: success)
            j.field("ret_msg", retMsg ?? (success ? op : ""))
            j.field("conn_id", connId)
            if let reqId { j.field("req_id", reqId) }
            j.field("op", op)
        case .linear:
            j.field("success", bool: success)
            j.field("ret_msg", retMsg ?? "")
            j.field("conn_id", connId)
            j.field("req_id", reqId ?? "")
            j.field("op", op)
        case .private:
            if let reqId { j.field("req_id", reqId) }
            j.field("success", bool: success)
            j.field("ret_msg", retMsg ?? "")
            j.field("op", op)
            j.field("conn_id", connId)
        }
        j.closeObject()
        return j.bytes
    }

    /// Public pong: `{"success":true,"ret_msg":"pong","conn_id",("req_id"),"op":"ping"}`;
    /// private pong: `{("req_id"),"op":"pong","args":["<ms>"],"conn_id"}`.
    public static func pong(channel: Channel, connId: String, reqId: String?, now: Int64) -> [UInt8] {
        var j = JSONOut(capacity: 128)
        j.openObject()
        switch channel {
        case .spot, .linear:
            j.field("success", bool: true)
            j.field("ret_msg", static: "pong")
            j.field("conn_id", connId)
            if channel == .linear { j.field("req_id", reqId ?? "") } else if let reqId { j.field("req_id", reqId) }
            j.field("op", static: "ping")
        case .private:
            if let reqId { j.field("req_id", reqId) }
            j.field("op", static: "pong")
            j.key("args")
            j.openArray()
            j.intString(now)
            j.closeArray()
            j.field("conn_id", connId)
        }
        j.closeObject()
        return j.bytes
    }

    /// Auth result on the private stream.
    public static func auth(success: Bool, retMsg: String, connId: String, reqId: String?) -> [UInt8] {
        commandAck(channel: .private, op: "auth", success: success, retMsg: retMsg, connId: connId, reqId: reqId)
    }
}
