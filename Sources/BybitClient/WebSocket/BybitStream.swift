import Bybit
import Foundation
import HummingbirdWSClient
import Logging
import NIOCore
import NIOPosix
import TradelogCore

/// What the owner of a ``BybitStream`` says back about one frame: the control frame it
/// carried (ack, pong, auth) and the book topics that went out of sync.
public struct StreamFeedback: Sendable {
    public var control: StreamSession.Control?
    public var resync: [String]

    public init(control: StreamSession.Control? = nil, resync: [String] = []) {
        self.control = control
        self.resync = resync
    }

    public static let none = StreamFeedback()
}

/// Receives everything a ``BybitStream`` sees, serially and in receive order.
public protocol BybitStreamDelegate: Sendable {
    func streamConnected(_ stream: BybitStream.Info, url: String, at: Timestamp) async
    func streamDisconnected(_ stream: BybitStream.Info, reason: String, at: Timestamp) async
    /// One text or binary message. Must not block for long: the socket waits for it.
    func streamFrame(_ stream: BybitStream.Info, bytes: [UInt8], at: Timestamp) async -> StreamFeedback
    /// A frame this side sent (auth frames are passed with the signature removed).
    func streamSent(_ stream: BybitStream.Info, text: String, at: Timestamp) async
    /// Subscriptions confirmed or refused, auth refused.
    func streamNotice(_ stream: BybitStream.Info, _ notice: StreamSession.Action, at: Timestamp) async
}

extension BybitStreamDelegate {
    public func streamSent(_ stream: BybitStream.Info, text: String, at: Timestamp) async {}
    public func streamNotice(_ stream: BybitStream.Info, _ notice: StreamSession.Action, at: Timestamp) async {}
}

/// One Bybit WebSocket (public spot/linear/inverse or private) that stays up: it connects,
/// authenticates, subscribes, pings every 20 s, detects a silent socket, and reconnects with
/// exponential backoff (5 s → 60 s), resubscribing everything each time.
public actor BybitStream {
    public struct Info: Sendable, Hashable {
        /// `linear-1`, `private-2`, ...: the channel and the connection's serial number.
        public var connectionID: String
        public var channel: BybitChannel

        public init(connectionID: String, channel: BybitChannel) {
            self.connectionID = connectionID
            self.channel = channel
        }
    }

    public struct Configuration: Sendable {
        public var channel: BybitChannel
        public var url: String
        public var session: StreamSession.Configuration
        public var initialBackoffMs: Int64 = 5_000
        public var maximumBackoffMs: Int64 = 60_000
        /// Large enough for a 1000-level book snapshot.
        public var maxFrameSize: Int = 16 << 20
        /// A name that makes connection ids unique across streams of one process.
        public var label: String
        /// Bybit's clock less the local one, asked before each private auth (nil: 0).
        public var serverClockOffsetMs: (@Sendable () async -> Int64)?

        public init(channel: BybitChannel, url: String, label: String? = nil) {
            self.channel = channel
            self.url = url
            self.session = .init(channel: channel)
            self.label = label ?? channel.rawValue
        }
    }

    public let configuration: Configuration
    private var session: StreamSession
    private var backoff: ReconnectBackoff
    private let delegate: any BybitStreamDelegate
    private let logger: Logger
    private var outbound: WebSocketOutboundWriter?
    private var serial = 0
    private var current: Info?
    public private(set) var connectCount = 0
    private var closeReason: String?
    private var connection: Task<WebSocketCloseFrame?, any Error>?

    public init(configuration: Configuration, credentials: BybitCredentials? = nil,
                delegate: any BybitStreamDelegate, logger: Logger) {
        self.configuration = configuration
        self.session = StreamSession(configuration: configuration.session, credentials: credentials)
        self.backoff = ReconnectBackoff(initialMs: configuration.initialBackoffMs, maximumMs: configuration.maximumBackoffMs)
        self.delegate = delegate
        var logger = logger
        logger[metadataKey: "ws.channel"] = "\(configuration.channel.rawValue)"
        self.logger = logger
    }

    /// Topics this stream carries (also resubscribed after every reconnect).
    public func subscribe(_ topics: [String]) async {
        await perform(session.subscribe(topics))
    }

    public func unsubscribe(_ topics: [String]) async {
        await perform(session.unsubscribe(topics))
    }

    public var desiredTopics: [String] { session.desired }
    public var activeTopics: Set<String> { session.active }
    public var failedTopics: [String: String] { session.failed }
    public var isReady: Bool { session.phase == .ready }
    /// The last auth refusal (private stream), cleared by a successful auth.
    public private(set) var authFailure: String?

    /// Closes the current socket (tests; the loop reconnects after the backoff).
    public func dropConnection(reason: String) async {
        closeReason = reason
        connection?.cancel()
    }

    /// Connects and keeps reconnecting until the task is cancelled.
    public func run() async {
        while !Task.isCancelled {
            serial += 1
            let info = Info(connectionID: "\(configuration.label)-\(serial)", channel: configuration.channel)
            current = info
            var failure: String?
            do {
                let client = WebSocketClient(
                    url: configuration.url,
                    configuration: .init(maxFrameSize: configuration.maxFrameSize, closeTimeout: .seconds(2)),
                    logger: logger
                ) { inbound, outbound, _ in
                    try await self.serve(info: info, inbound: inbound, outbound: outbound)
                }
                // A task of its own, so that a dead socket (no close handshake possible) can be
                // torn down by cancelling it.
                let task = Task { try await client.run() }
                connection = task
                let close = try await withTaskCancellationHandler {
                    try await task.value
                } onCancel: {
                    task.cancel()
                }
                failure = closeReason ?? close.map { "closed by server (\($0.closeCode))" } ?? "closed"
            } catch is CancellationError {
                failure = closeReason ?? "cancelled"
            } catch {
                failure = closeReason ?? "\(error)"
            }
            connection = nil
            closeReason = nil
            let wasConnected = outbound != nil
            outbound = nil
            session.disconnected()
            let reason = failure ?? "closed"
            if wasConnected {
                await delegate.streamDisconnected(info, reason: reason, at: .now())
            }
            if Task.isCancelled { break }
            let delay = backoff.next()
            logger.warning("bybit stream lost; reconnecting", metadata: [
                "ws.connection": "\(info.connectionID)", "ws.reason": "\(reason)", "ws.retry_in_ms": "\(delay)"])
            try? await Task.sleep(for: .milliseconds(delay))
        }
    }

    private func serve(info: Info, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async throws {
        self.outbound = outbound
        connectCount += 1
        let now = Timestamp.now()
        logger.info("bybit stream connected", metadata: ["ws.connection": "\(info.connectionID)", "ws.url": "\(configuration.url)"])
        await delegate.streamConnected(info, url: configuration.url, at: now)
        let offset = configuration.channel == .private ? await configuration.serverClockOffsetMs?() ?? 0 : 0
        // Read again: measuring the offset may have taken a while, and the auth's expiry counts from now.
        await perform(session.connected(nowMs: Timestamp.now().microsecondsSinceEpoch / 1000, serverOffsetMs: offset))

        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await self.heartbeat() }
            var iterator = inbound.makeAsyncIterator()
            var message = ByteBuffer()
            while let frame = try await iterator.next() {
                switch frame.opcode {
                case .text, .binary:
                    message = frame.data
                case .continuation:
                    var data = frame.data
                    message.writeBuffer(&data)
                }
                guard frame.fin else { continue }
                let bytes = message.readBytes(length: message.readableBytes) ?? []
                message = ByteBuffer()
                await self.deliver(info: info, bytes: bytes)
            }
            group.cancelAll()
        }
    }

    private func deliver(info: Info, bytes: [UInt8]) async {
        let now = Timestamp.now()
        session.received(nowMs: now.microsecondsSinceEpoch / 1000)
        let feedback = await delegate.streamFrame(info, bytes: bytes, at: now)
        if let control = feedback.control {
            await perform(session.received(control, nowMs: now.microsecondsSinceEpoch / 1000))
        }
        for topic in feedback.resync {
            logger.warning("order book out of sync; resubscribing", metadata: ["ws.topic": "\(topic)"])
            await perform(session.resync(topic))
        }
    }

    private func heartbeat() async {
        while !Task.isCancelled {
            let nowMs = Timestamp.now().microsecondsSinceEpoch / 1000
            let wait = max(50, min(1_000, session.nextDeadlineMs() - nowMs))
            try? await Task.sleep(for: .milliseconds(wait))
            if Task.isCancelled || outbound == nil { return }
            await perform(session.tick(nowMs: Timestamp.now().microsecondsSinceEpoch / 1000))
        }
    }

    private func perform(_ actions: [StreamSession.Action]) async {
        for action in actions {
            let now = Timestamp.now()
            switch action {
            case .send(let text):
                guard let outbound, let info = current else { continue }
                do {
                    try await outbound.write(.text(text))
                    await delegate.streamSent(info, text: Self.redacted(text), at: now)
                } catch {
                    logger.warning("bybit stream write failed", metadata: ["ws.error": "\(error)"])
                }
            case .reconnect(let reason):
                logger.warning("bybit stream reconnecting", metadata: ["ws.reason": "\(reason)"])
                closeReason = reason
                // No close handshake: the socket may be dead. Cancelling closes the channel.
                connection?.cancel()
            case .subscriptionFailed(let topic, let message):
                logger.error("bybit refused a subscription", metadata: ["ws.topic": "\(topic)", "ws.message": "\(message)"])
                if let info = current { await delegate.streamNotice(info, action, at: now) }
            case .authFailed(let message):
                authFailure = message
                logger.error("bybit private auth refused", metadata: ["ws.message": "\(message)"])
                if let info = current { await delegate.streamNotice(info, action, at: now) }
            case .subscribed(let topics):
                // Only a connection that got as far as an accepted subscription resets the
                // backoff; a server that answers and then refuses keeps backing off.
                backoff.reset()
                logger.debug("bybit subscribed", metadata: ["ws.topics": "\(topics.joined(separator: ","))"])
                if let info = current { await delegate.streamNotice(info, action, at: now) }
            case .authenticated:
                authFailure = nil
                logger.info("bybit private stream authenticated")
                if let info = current { await delegate.streamNotice(info, action, at: now) }
            }
        }
    }

    /// An auth frame without its key and signature (for logs and recordings).
    static func redacted(_ text: String) -> String {
        guard text.contains("\"op\":\"auth\"") else { return text }
        return #"{"op":"auth","args":["<redacted>"]}"#
    }
}
