import Foundation

/// The protocol logic of one Bybit WebSocket connection, without I/O: what to send after
/// connecting (auth, then subscriptions in requests of at most ``Configuration/maxArgsPerRequest``
/// args), when to ping, when the socket counts as dead, what to resubscribe after a
/// reconnect, and what each ack means. Times are milliseconds passed in by the caller.
public struct StreamSession: Sendable {
    public struct Configuration: Sendable {
        public var channel: BybitChannel
        /// Bybit recommends a ping every 20 s (reference §1.2).
        public var pingIntervalMs: Int64 = 20_000
        /// No frame at all (data or pong) for this long means the socket is dead.
        public var deadAfterMs: Int64 = 35_000
        /// Spot refuses more than 10 args per subscribe request; the others take it too.
        public var maxArgsPerRequest: Int = 10
        /// The private auth `expires` lies this far ahead of now.
        public var authExpiryMs: Int64 = 10_000

        public init(channel: BybitChannel) {
            self.channel = channel
        }
    }

    /// A control frame, reduced to what the session needs.
    public enum Control: Sendable, Equatable {
        case subscribeAck(success: Bool, reqID: String?, message: String)
        case unsubscribeAck(success: Bool, reqID: String?, message: String)
        case authAck(success: Bool, message: String)
        case pong
    }

    public enum Action: Sendable, Equatable {
        /// Send this text frame.
        case send(String)
        /// Close the socket and reconnect (after the backoff).
        case reconnect(reason: String)
        /// A topic was refused by the exchange; it is not retried until it is subscribed again.
        case subscriptionFailed(topic: String, message: String)
        /// Topics confirmed by an ack.
        case subscribed([String])
        /// Private auth was refused: the socket is closed and retried after the backoff.
        case authFailed(message: String)
        /// Auth succeeded.
        case authenticated
    }

    public enum Phase: Sendable, Equatable {
        case disconnected
        case authenticating
        case ready
    }

    public let configuration: Configuration
    public private(set) var phase: Phase = .disconnected
    /// Every topic this connection should carry, in the order first asked for.
    public private(set) var desired: [String] = []
    /// Topics acknowledged on the current socket.
    public private(set) var active: Set<String> = []
    /// Topics the exchange refused (`handler not found`, ...), with its message.
    public private(set) var failed: [String: String] = [:]
    private var pending: [String: (op: String, topics: [String])] = [:]
    private var nextRequest = 1
    private var lastReceiveMs: Int64 = 0
    private var lastPingMs: Int64 = 0
    private let credentials: BybitCredentials?

    public init(configuration: Configuration, credentials: BybitCredentials? = nil) {
        self.configuration = configuration
        self.credentials = credentials
    }

    /// Topics sent but not yet acknowledged.
    public var pendingTopics: [String] { pending.keys.sorted().flatMap { pending[$0]!.topics } }

    /// The socket is open: authenticate (private) or subscribe everything desired.
    /// - Parameters:
    ///   - nowMs: the local clock (heartbeats are timed on it).
    ///   - serverOffsetMs: Bybit's clock less the local one (as the REST client measured it):
    ///     the auth's `expires` is on Bybit's clock, so a local clock behind it does not make
    ///     every auth expire before it arrives.
    public mutating func connected(nowMs: Int64, serverOffsetMs: Int64 = 0) -> [Action] {
        active.removeAll()
        pending.removeAll()
        lastReceiveMs = nowMs
        lastPingMs = nowMs
        if configuration.channel == .private, let credentials {
            phase = .authenticating
            let expires = nowMs + serverOffsetMs + configuration.authExpiryMs
            let signature = credentials.signer.webSocketAuthSignature(expires: expires)
            let reqID = takeRequestID()
            pending[reqID] = ("auth", [])
            return [.send(#"{"req_id":"\#(reqID)","op":"auth","args":["\#(Self.escape(credentials.apiKey))",\#(expires),"\#(signature)"]}"#)]
        }
        phase = .ready
        return subscribeRequests(for: desired.filter { failed[$0] == nil })
    }

    public mutating func disconnected() {
        phase = .disconnected
        active.removeAll()
        pending.removeAll()
    }

    /// Adds topics; sends the subscribe requests when the socket is ready.
    public mutating func subscribe(_ topics: [String]) -> [Action] {
        for t in topics where !desired.contains(t) { desired.append(t) }
        for t in topics { failed[t] = nil }
        guard phase == .ready else { return [] }
        var toSend: [String] = []
        for t in topics where !active.contains(t) && !isPending(t) && !toSend.contains(t) { toSend.append(t) }
        return subscribeRequests(for: toSend)
    }

    /// Removes topics; sends unsubscribe requests for the active ones.
    public mutating func unsubscribe(_ topics: [String]) -> [Action] {
        desired.removeAll { topics.contains($0) }
        for t in topics { failed[t] = nil }
        let live = topics.filter { active.contains($0) || isPending($0) }
        for t in live { active.remove(t) }
        guard phase == .ready, !live.isEmpty else { return [] }
        return requests(op: "unsubscribe", topics: live)
    }

    /// A book went out of sync: unsubscribe and subscribe again, which makes Bybit send a new
    /// snapshot.
    public mutating func resync(_ topic: String) -> [Action] {
        guard phase == .ready, desired.contains(topic) else { return [] }
        active.remove(topic)
        return requests(op: "unsubscribe", topics: [topic]) + subscribeRequests(for: [topic])
    }

    /// Any frame arrived.
    public mutating func received(nowMs: Int64) {
        lastReceiveMs = nowMs
    }

    public mutating func received(_ control: Control, nowMs: Int64) -> [Action] {
        lastReceiveMs = nowMs
        switch control {
        case .pong:
            return []
        case .authAck(let success, let message):
            pending = pending.filter { $0.value.op != "auth" }
            guard phase == .authenticating else { return [] }
            if success {
                phase = .ready
                return [.authenticated] + subscribeRequests(for: desired.filter { failed[$0] == nil })
            }
            phase = .disconnected
            return [.authFailed(message: message), .reconnect(reason: "auth refused: \(message)")]
        case .subscribeAck(let success, let reqID, let message):
            let request = takePending(reqID: reqID, op: "subscribe")
            if success {
                for t in request where desired.contains(t) { active.insert(t) }
                return request.isEmpty ? [] : [.subscribed(request)]
            }
            return subscribeFailed(request: request, message: message)
        case .unsubscribeAck(_, let reqID, _):
            _ = takePending(reqID: reqID, op: "unsubscribe")
            return []
        }
    }

    /// Call periodically: pings when due; reconnects a socket that went silent.
    public mutating func tick(nowMs: Int64) -> [Action] {
        guard phase != .disconnected else { return [] }
        if nowMs - lastReceiveMs >= configuration.deadAfterMs {
            phase = .disconnected
            return [.reconnect(reason: "no frame for \(nowMs - lastReceiveMs) ms")]
        }
        if nowMs - lastPingMs >= configuration.pingIntervalMs {
            lastPingMs = nowMs
            let reqID = takeRequestID()
            return [.send(#"{"req_id":"\#(reqID)","op":"ping"}"#)]
        }
        return []
    }

    /// When the next ``tick(nowMs:)`` has something to do.
    public func nextDeadlineMs() -> Int64 {
        min(lastPingMs + configuration.pingIntervalMs, lastReceiveMs + configuration.deadAfterMs)
    }

    // MARK: - Internals

    private func isPending(_ topic: String) -> Bool {
        pending.values.contains { $0.op == "subscribe" && $0.topics.contains(topic) }
    }

    private mutating func subscribeFailed(request: [String], message: String) -> [Action] {
        // Bybit names the refused topic in the message (`error:handler not found,topic:X`);
        // the other args of the same request are taken as subscribed.
        var actions: [Action] = []
        let named = Self.topic(in: message)
        if message.contains("already subscribed") {
            let topics = request.isEmpty ? (named.map { [$0] } ?? []) : request
            for t in topics where desired.contains(t) { active.insert(t) }
            return topics.isEmpty ? [] : [.subscribed(topics)]
        }
        let refused = named.map { [$0] } ?? request
        for t in refused {
            failed[t] = message
            actions.append(.subscriptionFailed(topic: t, message: message))
        }
        let accepted = request.filter { !refused.contains($0) && desired.contains($0) }
        for t in accepted { active.insert(t) }
        if !accepted.isEmpty { actions.append(.subscribed(accepted)) }
        return actions
    }

    private mutating func takePending(reqID: String?, op: String) -> [String] {
        if let reqID, !reqID.isEmpty {
            // An ack for a request we do not know (stale, or another client's) settles nothing.
            return pending.removeValue(forKey: reqID)?.topics ?? []
        }
        // Linear acks may carry `req_id:""`: take the oldest request of that op.
        let oldest = pending.filter { $0.value.op == op }.keys.sorted { (Int($0) ?? 0) < (Int($1) ?? 0) }.first
        guard let key = oldest else { return [] }
        return pending.removeValue(forKey: key)?.topics ?? []
    }

    private mutating func subscribeRequests(for topics: [String]) -> [Action] {
        guard !topics.isEmpty else { return [] }
        if configuration.channel == .private {
            // All-in-one and categorised private topics cannot share one request.
            let plain = topics.filter { !$0.contains(".") }
            let categorised = topics.filter { $0.contains(".") }
            return requests(op: "subscribe", topics: plain) + requests(op: "subscribe", topics: categorised)
        }
        return requests(op: "subscribe", topics: topics)
    }

    private mutating func requests(op: String, topics: [String]) -> [Action] {
        var actions: [Action] = []
        var start = 0
        while start < topics.count {
            let chunk = Array(topics[start..<min(start + configuration.maxArgsPerRequest, topics.count)])
            start += chunk.count
            let reqID = takeRequestID()
            pending[reqID] = (op, chunk)
            let args = chunk.map { "\"\(Self.escape($0))\"" }.joined(separator: ",")
            actions.append(.send(#"{"req_id":"\#(reqID)","op":"\#(op)","args":[\#(args)]}"#))
        }
        return actions
    }

    private mutating func takeRequestID() -> String {
        defer { nextRequest += 1 }
        return String(nextRequest)
    }

    /// The topic named in an error ack (`error:handler not found,topic:orderbook.50.NOPEUSDT`).
    public static func topic(in message: String) -> String? {
        guard let range = message.range(of: "topic:") else { return nil }
        let rest = message[range.upperBound...]
        let end = rest.firstIndex { $0 == "," || $0 == "\"" || $0 == " " } ?? rest.endIndex
        let topic = String(rest[..<end])
        return topic.isEmpty ? nil : topic
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
    }
}
