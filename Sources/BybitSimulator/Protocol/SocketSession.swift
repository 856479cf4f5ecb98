import Foundation

/// Which symbols exist per category, for topic validation.
public struct TopicCatalog: Sendable {
    public var symbols: [SimCategory: Set<String>]

    public init(symbols: [SimCategory: Set<String>]) { self.symbols = symbols }

    public func contains(_ topic: PublicTopic, category: SimCategory) -> Bool {
        symbols[category]?.contains(topic.symbol) ?? false
    }
}

/// What the engine must do after a client message, in order.
public enum SessionEffect: Sendable, Equatable {
    /// Send this frame to the client.
    case send([UInt8])
    /// A topic was accepted: register it and send its snapshot (after the ack above).
    case subscribe(String)
    case unsubscribe(String)
}

/// The outcome of checking `{"op":"auth","args":[key, expires, sig]}`.
public enum AuthCheck: Sendable, Equatable {
    case ok
    case failed(String)
}

/// The protocol state of one WebSocket: its channel, id, subscriptions and auth. Pure:
/// messages in, effects out (acks, pongs, errors and subscription changes).
public struct SocketSession: Sendable {
    public let channel: ControlFrames.Channel
    public let connId: String
    /// Accepted topics in subscription order.
    public private(set) var topics: [String] = []
    /// The API key this private socket authenticated with.
    public private(set) var apiKey: String?

    /// Spot refuses more than 10 args per subscribe (reference §1.4).
    public static let spotArgsLimit = 10

    public init(channel: ControlFrames.Channel, connId: String) {
        self.channel = channel
        self.connId = connId
    }

    /// Handles one text message. `authenticate(key, expires, signature)` checks credentials.
    public mutating func handle(
        text: String, now: Int64, catalog: TopicCatalog,
        authenticate: (String, Int64, String) -> AuthCheck
    ) -> [SessionEffect] {
        guard let data = text.data(using: .utf8),
              let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            return [.send(ack(op: "", success: false, retMsg: "error:invalid message", reqId: nil))]
        }
        let reqId = Self.string(object["req_id"])
        let op = object["op"] as? String ?? ""
        let args = object["args"] as? [Any] ?? []
        switch op {
        case "ping":
            return [.send(ControlFrames.pong(channel: channel, connId: connId, reqId: reqId, now: now))]
        case "subscribe":
            return subscribe(args, reqId: reqId, catalog: catalog)
        case "unsubscribe":
            var effects: [SessionEffect] = [.send(ack(op: op, success: true, retMsg: nil, reqId: reqId))]
            for case let t as String in args where topics.contains(t) {
                topics.removeAll { $0 == t }
                effects.append(.unsubscribe(t))
            }
            return effects
        case "auth" where channel == .private:
            return [.send(auth(args, reqId: reqId, now: now, authenticate: authenticate))]
        default:
            return [.send(ack(op: op, success: false, retMsg: "error:invalid op", reqId: reqId))]
        }
    }

    mutating func subscribe(_ args: [Any], reqId: String?, catalog: TopicCatalog) -> [SessionEffect] {
        if channel == .spot, args.count > Self.spotArgsLimit {
            return [.send(ack(op: "subscribe", success: false, retMsg: "args size >10", reqId: reqId))]
        }
        var firstError: String?
        var accepted: [String] = []
        for arg in args {
            guard let t = arg as? String else {
                firstError = firstError ?? "error:args invalid"
                continue
            }
            if let problem = check(topic: t, catalog: catalog) {
                firstError = firstError ?? problem
            } else if topics.contains(t) || accepted.contains(t) {
                firstError = firstError ?? "error:already subscribed,topic:\(t)"
            } else {
                accepted.append(t)
            }
        }
        if args.isEmpty { firstError = "error:args is empty" }
        topics.append(contentsOf: accepted)
        var effects: [SessionEffect] = [.send(ack(op: "subscribe", success: firstError == nil, retMsg: firstError, reqId: reqId))]
        effects.append(contentsOf: accepted.map { .subscribe($0) })
        return effects
    }

    /// nil when the topic may be subscribed, else the error text.
    func check(topic: String, catalog: TopicCatalog) -> String? {
        switch channel {
        case .spot, .linear:
            let category: SimCategory = channel == .spot ? .spot : .linear
            guard let p = PublicTopic.parse(topic, category: category), catalog.contains(p, category: category) else {
                return "error:handler not found,topic:\(topic)"
            }
            return nil
        case .private:
            guard apiKey != nil else { return "Request not authorized" }
            return PrivateTopic.parse(topic) == nil ? "error:handler not found,topic:\(topic)" : nil
        }
    }

    mutating func auth(_ args: [Any], reqId: String?, now: Int64, authenticate: (String, Int64, String) -> AuthCheck) -> [UInt8] {
        guard apiKey == nil else {
            return ControlFrames.auth(success: false, retMsg: "error:repeat auth", connId: connId, reqId: reqId)
        }
        guard args.count == 3, let key = args[0] as? String, let signature = args[2] as? String,
              let expires = Self.integer(args[1]) else {
            return ControlFrames.auth(success: false, retMsg: "Params Error", connId: connId, reqId: reqId)
        }
        guard expires > now else {
            return ControlFrames.auth(success: false, retMsg: "Params Error", connId: connId, reqId: reqId)
        }
        switch authenticate(key, expires, signature) {
        case .ok:
            apiKey = key
            return ControlFrames.auth(success: true, retMsg: "", connId: connId, reqId: reqId)
        case .failed(let text):
            return ControlFrames.auth(success: false, retMsg: text, connId: connId, reqId: reqId)
        }
    }

    func ack(op: String, success: Bool, retMsg: String?, reqId: String?) -> [UInt8] {
        ControlFrames.commandAck(channel: channel, op: op, success: success, retMsg: retMsg, connId: connId, reqId: reqId)
    }

    static func string(_ v: Any?) -> String? {
        switch v {
        case let s as String: return s
        case let n as NSNumber: return n.stringValue
        default: return nil
        }
    }

    /// `expires` is a number in ms; accept a numeric string too.
    static func integer(_ v: Any?) -> Int64? {
        switch v {
        case let s as String: return Int64(s)
        case let n as NSNumber:
            let d = n.doubleValue
            guard d.isFinite, d == d.rounded(), abs(d) < 9e15 else { return nil }
            return Int64(d)
        default: return nil
        }
    }
}
