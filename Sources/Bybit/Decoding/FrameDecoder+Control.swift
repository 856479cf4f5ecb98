import Foundation

extension FrameDecoder {
    /// Recognizes protocol replies (reference §1.2, §1.3, §1.5, §1.6); nil for anything else,
    /// including client requests echoed back (`{"op":"subscribe","args":[...]}`).
    func decodeControl(_ v: JSONView) -> ControlFrame? {
        let success = v.member(0, "success").flatMap { v.bool($0) }
        let retMsg = v.string(0, "ret_msg") ?? v.string(0, "retMsg")
        let connID = v.string(0, "conn_id") ?? v.string(0, "connId")
        let reqID = v.string(0, "req_id") ?? v.string(0, "reqId")
        let retCode = v.member(0, "retCode").flatMap { v.int64($0) }.map { Int($0) }

        if let type = v.member(0, "type"), v.stringEquals(type, "COMMAND_RESP") {
            let data = v.member(0, "data")
            return .commandResponse(CommandResponse(
                success: success ?? false, retMsg: retMsg, reqID: reqID, connID: connID,
                successTopics: data.flatMap { v.member($0, "successTopics") }.map { strings(v, $0) } ?? [],
                failTopics: data.flatMap { v.member($0, "failTopics") }.map { strings(v, $0) } ?? []))
        }
        guard let opNode = v.member(0, "op"), let op = v.string(opNode) else { return nil }
        let isReply = success != nil || retCode != nil

        if op == "pong" || (op == "ping" && isReply) {
            let args = (v.member(0, "args") ?? v.member(0, "data")).map { strings(v, $0) } ?? []
            return .pong(Pong(op: op, connID: connID, reqID: reqID, args: args))
        }
        guard isReply else { return nil }
        switch op {
        case "subscribe", "unsubscribe":
            let ok = success ?? (retCode == 0)
            let message = retMsg ?? ""
            let (error, topic) = ok ? (nil, nil) : Self.splitSubscribeError(message)
            return .subscription(SubscriptionAck(op: op, success: ok, retMsg: message, reqID: reqID, connID: connID,
                                                 error: error, failedTopic: topic))
        case "auth":
            return .auth(AuthResult(success: success ?? (retCode == 0), retMsg: retMsg ?? "", retCode: retCode,
                                    reqID: reqID, connID: connID))
        default:
            guard let retCode else { return nil }
            func canonical(_ key: StaticString) -> [UInt8]? {
                guard let n = v.member(0, key) else { return nil }
                var w = JSONWriter(capacity: 128)
                try? writeCanonicalValue(v, n, policy: .verbatim, key: nil, parentKey: nil, into: &w)
                return w.take()
            }
            var header: [String: String] = [:]
            if let h = v.member(0, "header"), v.kind(h) == .object {
                var k = h + 1
                for _ in 0..<v.count(h) {
                    if let name = v.string(k) { header[name] = v.text(k + 1) }
                    k = v.next(k + 1)
                }
            }
            return .orderEntry(OrderEntryResponse(op: op, reqID: reqID, retCode: retCode, retMsg: retMsg ?? "",
                                                  connID: connID, data: canonical("data"),
                                                  retExtInfo: canonical("retExtInfo"), header: header))
        }
    }

    /// `error:handler not found,topic:orderbook.50.NOPEUSDT` → (`handler not found`,
    /// `orderbook.50.NOPEUSDT`); `args size >10` → (`args size >10`, nil).
    static func splitSubscribeError(_ message: String) -> (error: String?, topic: String?) {
        var text = Substring(message)
        if text.hasPrefix("error:") { text = text.dropFirst("error:".count) }
        if let r = text.range(of: ",topic:") {
            return (String(text[..<r.lowerBound]), String(text[r.upperBound...]))
        }
        return (text.isEmpty ? nil : String(text), nil)
    }

    /// The elements of an array of strings or numbers, as text.
    private func strings(_ v: JSONView, _ array: Int) -> [String] {
        guard v.kind(array) == .array else { return [] }
        var out: [String] = []
        var e = array + 1
        for _ in 0..<v.count(array) {
            if v.kind(e) == .string || v.kind(e) == .number { out.append(v.text(e)) }
            e = v.next(e)
        }
        return out
    }
}
