import CAMQPShim
import Foundation
import Logging
import TradelogCore

/// A message to publish to a queue through the default exchange.
public struct AMQPMessage: Sendable {
    public struct Header: Sendable, Hashable {
        public var key: String
        public var value: String
        public init(_ key: String, _ value: String) {
            self.key = key
            self.value = value
        }
    }

    public var queue: String
    public var body: [UInt8]
    public var messageID: String?
    public var type: String?
    /// Seconds since the epoch.
    public var timestamp: Int64?
    public var headers: [Header]
    /// Sent as the integer header `x-global-position` when set.
    public var globalPosition: Int64?
    public var persistent: Bool

    public init(queue: String, body: [UInt8], messageID: String? = nil, type: String? = nil, timestamp: Int64? = nil,
                headers: [Header] = [], globalPosition: Int64? = nil, persistent: Bool = true) {
        self.queue = queue
        self.body = body
        self.messageID = messageID
        self.type = type
        self.timestamp = timestamp
        self.headers = headers
        self.globalPosition = globalPosition
        self.persistent = persistent
    }
}

/// A message received from a queue; acknowledge it by `deliveryTag`.
public struct AMQPDelivery: Sendable {
    public var deliveryTag: UInt64
    public var redelivered: Bool
    public var body: [UInt8]
    public var messageID: String?
    /// The string-valued headers.
    public var headers: [String: String] = [:]
}

/// Queue arguments as tradelog declares them (seed 000: durable, TTL 24 h, 100 000 messages).
public struct QueueArguments: Sendable, Hashable {
    public var durable: Bool
    public var messageTTLMilliseconds: Int64?
    public var maxLength: Int64?

    public init(durable: Bool = true, messageTTLMilliseconds: Int64? = nil, maxLength: Int64? = nil) {
        self.durable = durable
        self.messageTTLMilliseconds = messageTTLMilliseconds
        self.maxLength = maxLength
    }

    /// The documented queues: durable, `x-message-ttl` 24 h, `x-max-length` 100 000.
    public static let documented = QueueArguments(durable: true, messageTTLMilliseconds: 86_400_000, maxLength: 100_000)
}

extension QueueArguments: CustomStringConvertible {
    public var description: String {
        ([durable ? "durable" : "transient"] + [messageTTLMilliseconds.map { "x-message-ttl \($0)" },
                                                maxLength.map { "x-max-length \($0)" }].compactMap { $0 })
            .joined(separator: ", ")
    }
}

/// What a ``AMQPConnection/publish(_:window:)`` call did: the tags it used and the confirms
/// it read meanwhile (for its own publishes or earlier ones).
public struct PublishReport: Sendable {
    /// The delivery tag of the first message of the call; the others follow one by one.
    public var firstTag: UInt64
    public var resolutions: [ConfirmWindow.Resolution]
    /// Messages the broker returned as unroutable during the call.
    public var returned: Int
    /// How many of the call's messages were published (the first ones): all of them, unless
    /// the call paused because the broker blocked publishing.
    public var published = 0

    init(firstTag: UInt64) {
        self.firstTag = firstTag
        resolutions = []
        returned = 0
    }
}

/// One RabbitMQ connection with one channel, on its own thread (rabbitmq-c is blocking and
/// not thread-safe). Open it with ``open(confirms:)``; after an error it is closed and must
/// be opened again (the caller decides when: see ``AMQPReconnect``).
public actor AMQPConnection {
    public let settings: AMQPSettings
    public let name: String
    private let executor: ConnectionThread
    private let logger: Logger
    // nonisolated(unsafe) only so that deinit may free it: by then nothing else holds the
    // actor (as in PGConnection, an `isolated deinit` is avoided).
    private nonisolated(unsafe) var handle: OpaquePointer?
    private var window = ConfirmWindow()
    private var confirms = false
    private var buffer = [tl_amqp_confirm](repeating: tl_amqp_confirm(), count: 1024)

    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    public init(settings: AMQPSettings, name: String, logger: Logger = Logger(label: "tradelog.amqp")) {
        self.settings = settings
        self.name = name
        self.logger = logger
        self.executor = ConnectionThread(name: "amqp:\(name)")
    }

    deinit {
        if let handle { tl_amqp_free(handle) }
        executor.shutdown()
    }

    public var isOpen: Bool { handle != nil }
    /// The broker's reason while it blocks this connection's publishing (`connection.blocked`,
    /// sent during a memory or disk alarm, until `connection.unblocked`), as far as the frames
    /// read so far tell; nil otherwise. A blocked broker stops reading the socket: publishing
    /// more only fills it. Reading confirms keeps this up to date.
    public var blockedReason: String? {
        guard let handle, let reason = tl_amqp_blocked(handle) else { return nil }
        return String(cString: reason)
    }
    /// Publishes not yet confirmed.
    public var outstanding: Int { window.outstanding }

    /// Connects, logs in and opens the channel; with `confirms`, puts it in confirm mode.
    public func open(confirms: Bool) throws {
        close()
        guard let h = tl_amqp_new() else { throw AMQPError(.connect, "out of memory") }
        let timeoutMs = Int32(settings.connectTimeout.wholeMilliseconds)
        let rc = tl_amqp_open(h, settings.host, Int32(settings.port), settings.virtualHost, settings.user,
                              settings.password, Int32(settings.heartbeat), timeoutMs, "tradelog:\(name)")
        if rc != 0 {
            let error = AMQPError(.connect, "\(settings.redactedURL): " + String(cString: tl_amqp_error(h)),
                                  serverCode: Int(tl_amqp_server_code(h)))
            tl_amqp_free(h)
            throw error
        }
        handle = h
        window = ConfirmWindow()
        self.confirms = confirms
        if confirms { try check(tl_amqp_confirm_select(h), .refused) }
    }

    /// Closes the channel and the connection (politely when still up). Unconfirmed
    /// publishes are forgotten: the caller republishes from its own checkpoint.
    public func close() {
        if let handle { tl_amqp_free(handle) }
        handle = nil
        window = ConfirmWindow()
    }

    private func live() throws -> OpaquePointer {
        guard let handle else { throw AMQPError(.connectionLost, "connection \(name) is not open") }
        return handle
    }

    /// Turns a failed call into an error and closes the connection: after a channel or
    /// connection error nothing more can be sent on it.
    private func check(_ rc: Int32, _ kind: AMQPError.Kind) throws {
        guard rc != 0, let h = handle else { return }
        let code = Int(tl_amqp_server_code(h))
        let text = String(cString: tl_amqp_error(h))
        let error = AMQPError(code == 0 && kind == .refused ? .connectionLost : kind, text, serverCode: code)
        close()
        throw error
    }

    /// Declares `queue` with `arguments`. A queue that exists with other arguments (declared
    /// first by another system, e.g. the model service's own `trading_signals`) is used as it
    /// is, with a warning naming the difference the broker reported: refusing it would stop the
    /// service for good, and redeclaring it would need deleting its messages.
    @discardableResult
    public func declare(queue: String, arguments: QueueArguments) throws -> DeclareOutcome {
        let h = try live()
        let rc = tl_amqp_declare_queue(h, queue, arguments.durable ? 1 : 0, arguments.messageTTLMilliseconds ?? -1,
                                       arguments.maxLength ?? -1)
        if rc == 1 {
            let refusal = String(cString: tl_amqp_error(h))
            logger.warning("queue exists with other arguments than tradelog declares; used as it is", metadata: [
                "queue": "\(queue)", "wanted": "\(arguments)", "broker": "\(refusal)"])
            return .existsWithOtherArguments(refusal)
        }
        try check(rc, .refused)
        return .declared
    }

    public enum DeclareOutcome: Sendable, Equatable {
        case declared
        /// The broker's refusal of the arguments (406 PRECONDITION_FAILED ...).
        case existsWithOtherArguments(String)
    }

    /// Deletes a queue; returns how many messages it held.
    @discardableResult
    public func delete(queue: String) throws -> Int64 {
        let n = tl_amqp_delete_queue(try live(), queue)
        if n < 0 { try check(-1, .refused) }
        return n
    }

    /// Empties a queue; returns how many messages it held.
    @discardableResult
    public func purge(queue: String) throws -> Int64 {
        let n = tl_amqp_purge_queue(try live(), queue)
        if n < 0 { try check(-1, .refused) }
        return n
    }

    // MARK: publishing

    /// Publishes `messages` in order. In confirm mode, never has more than `window`
    /// unconfirmed: when the window is full it reads confirms before sending more, and fails
    /// when none comes within 5 s.
    ///
    /// With `pauseWhenBlocked`, the call returns early, its report's `published` counting the
    /// messages sent, once the frames read show the broker blocking publishing (see
    /// ``blockedReason``): the caller waits and publishes the rest later, on this connection.
    public func publish(_ messages: [AMQPMessage], window limit: Int = 1000, pauseWhenBlocked: Bool = false) throws -> PublishReport {
        let h = try live()
        var report = PublishReport(firstTag: window.nextTag)
        // The blocked state changes only as frames are read: here, and in the window's wait.
        if pauseWhenBlocked, blockedReason != nil { return report }
        for (i, m) in messages.enumerated() {
            if confirms, window.outstanding >= limit {
                let deadline = ContinuousClock.now + .seconds(5)
                while window.outstanding >= limit {
                    let settled = report.resolutions.count + report.returned
                    let left = max(0, (deadline - ContinuousClock.now).wholeMilliseconds)
                    // Returns early on any frame (a heartbeat, connection.blocked): loop to the deadline.
                    try readConfirms(h, timeoutMs: left, into: &report)
                    if pauseWhenBlocked, blockedReason != nil { return report }
                    if report.resolutions.count + report.returned == settled, ContinuousClock.now >= deadline {
                        let blocked = blockedReason
                        close()
                        if let blocked {
                            throw AMQPError(.blocked, "no publisher confirm within 5000 ms on \(name): the broker blocked publishing (\(blocked))")
                        }
                        throw AMQPError(.timeout, "no publisher confirm within 5000 ms on \(name)")
                    }
                }
            }
            let rc = m.body.withUnsafeBytes { body -> Int32 in
                withHeaderPointers(m.headers) { keys, values in
                    tl_amqp_publish(h, m.queue, body.baseAddress, body.count, m.messageID, m.type, m.timestamp ?? -1,
                                    m.persistent ? 1 : 0, keys, values, Int32(m.headers.count),
                                    m.globalPosition == nil ? nil : "x-global-position", m.globalPosition ?? 0, 1)
                }
            }
            try check(rc, .connectionLost)
            if confirms { _ = window.published() }
            report.published = i + 1
        }
        if confirms, window.outstanding > 0 {
            // Take whatever has arrived already, without waiting.
            try readConfirms(h, timeoutMs: 0, into: &report)
        }
        return report
    }

    /// Reads confirms for up to `timeout` (returns as soon as some arrived); also what keeps
    /// an idle publisher's heartbeats going.
    public func readConfirms(timeout: Duration) throws -> PublishReport {
        let h = try live()
        var report = PublishReport(firstTag: window.nextTag)
        try readConfirms(h, timeoutMs: timeout.wholeMilliseconds, into: &report)
        return report
    }

    private func readConfirms(_ h: OpaquePointer, timeoutMs: Int, into report: inout PublishReport) throws {
        let n = buffer.withUnsafeMutableBufferPointer { tl_amqp_read_confirms(h, Int32(timeoutMs), $0.baseAddress, Int32($0.count)) }
        if n < 0 { try check(-1, .connectionLost) }
        for i in 0..<Int(n) {
            let c = buffer[i]
            switch c.kind {
            case 1, 2:
                report.resolutions += window.apply(tag: c.delivery_tag, multiple: c.multiple != 0, acked: c.kind == 1)
            default:
                report.returned += 1
            }
        }
    }

    // MARK: consuming

    /// Starts consuming `queue` with manual acks and at most `prefetch` unacked deliveries.
    public func consume(queue: String, prefetch: Int) throws {
        let h = try live()
        try check(tl_amqp_qos(h, Int32(prefetch)), .refused)
        try check(tl_amqp_consume(h, queue), .refused)
    }

    /// Waits up to `timeout` for a delivery, then takes what else has arrived, up to `max`.
    /// Empty on timeout (the call has serviced heartbeats meanwhile).
    public func nextDeliveries(max: Int, timeout: Duration) throws -> [AMQPDelivery] {
        let h = try live()
        var out: [AMQPDelivery] = []
        var wait = Int32(timeout.wholeMilliseconds)
        var d = tl_amqp_delivery()
        while out.count < max {
            let rc = tl_amqp_next_delivery(h, wait, &d)
            if rc < 0 { try check(-1, .connectionLost) }
            if rc == 0 { break }
            let body = d.body_len == 0 ? [] : Array(UnsafeRawBufferPointer(start: d.body, count: d.body_len))
            let messageID = withUnsafeBytes(of: d.message_id) { raw -> String? in
                let s = String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
                return s.isEmpty ? nil : s
            }
            var headers: [String: String] = [:]
            if let h = d.headers, d.headers_len > 0 {
                let parts = UnsafeRawBufferPointer(start: h, count: d.headers_len).split(separator: 0, omittingEmptySubsequences: false)
                var i = 0
                while i + 1 < parts.count {
                    headers[String(decoding: parts[i], as: UTF8.self)] = String(decoding: parts[i + 1], as: UTF8.self)
                    i += 2
                }
            }
            out.append(AMQPDelivery(deliveryTag: d.delivery_tag, redelivered: d.redelivered != 0, body: body,
                                    messageID: messageID, headers: headers))
            tl_amqp_delivery_free(&d)
            wait = 0
        }
        return out
    }

    public func ack(_ deliveryTag: UInt64, multiple: Bool = false) throws {
        try check(tl_amqp_ack(try live(), deliveryTag, multiple ? 1 : 0), .connectionLost)
    }

    public func reject(_ deliveryTag: UInt64, requeue: Bool) throws {
        try check(tl_amqp_reject(try live(), deliveryTag, requeue ? 1 : 0), .connectionLost)
    }
}

/// Calls `body` with C arrays of the headers' keys and values (valid during the call).
private func withHeaderPointers<R>(
    _ headers: [AMQPMessage.Header],
    _ body: (UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<UnsafePointer<CChar>?>?) -> R
) -> R {
    if headers.isEmpty { return body(nil, nil) }
    let keys = headers.map { strdup($0.key) }
    let values = headers.map { strdup($0.value) }
    defer {
        keys.forEach { free($0) }
        values.forEach { free($0) }
    }
    let k = keys.map { UnsafePointer($0) }
    let v = values.map { UnsafePointer($0) }
    return k.withUnsafeBufferPointer { kp in v.withUnsafeBufferPointer { vp in body(kp.baseAddress, vp.baseAddress) } }
}
