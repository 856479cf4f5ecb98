import Bybit
import BybitClient
import Foundation
import Logging
import Recording
import Synchronization
import TradelogCore

/// The delegate of one channel's stream: decodes every frame (same decoders and book
/// keeping as `tradelog decode` and replay), queues the events with their receive time and
/// connection id, records raw frames when recording, and tells the stream about acks,
/// pongs and books that went out of sync.
public final class FrameIngest: BybitStreamDelegate {
    public struct Counters: Sendable, Equatable {
        public var frames: Int64 = 0
        public var events: Int64 = 0
        public var unparsed: Int64 = 0
        public var resyncs: Int64 = 0
        public var dropped: Int64 = 0
        public var connects: Int64 = 0
        public var authFailures: Int64 = 0
        /// `ExchangeWalletUpdated` events queued (a REST wallet snapshot older than one is stale).
        public var walletUpdates: Int64 = 0
    }

    public let channel: BybitChannel
    private let gatewayName: String
    private let connectionStream: String
    private let buffer: IngestBuffer?
    private let recorder: RecordingSink?
    private let logger: Logger
    /// `owed`: books forgotten because some of their updates were dropped; each is resubscribed
    /// once the queue takes frames again (not on every dropped frame: no resubscribe storm while
    /// the log is away), and the decoder's own resyncs for them wait until then.
    private let state: Mutex<(decoder: FrameDecoder, counters: Counters, owed: Set<String>)>
    private let onAuthenticated: (@Sendable () async -> Void)?

    public init(channel: BybitChannel, gatewayName: String, connectionStream: String,
                buffer: IngestBuffer?, recorder: RecordingSink?, logger: Logger,
                onAuthenticated: (@Sendable () async -> Void)? = nil) {
        self.onAuthenticated = onAuthenticated
        self.channel = channel
        self.gatewayName = gatewayName
        self.connectionStream = connectionStream
        self.buffer = buffer
        self.recorder = recorder
        self.logger = logger
        state = Mutex((FrameDecoder(channel: channel), Counters(), []))
    }

    public var counters: Counters { state.withLock { $0.counters } }

    public func streamConnected(_ stream: BybitStream.Info, url: String, at: Timestamp) async {
        // A new socket starts with new snapshots: forget the books of the old one.
        state.withLock {
            $0.decoder.reset()
            $0.owed = []
            $0.counters.connects += 1
        }
        recorder?.append(RecordEntry(t: at.microsecondsSinceEpoch, kind: .connect, conn: stream.connectionID,
                                     channel: channel.rawValue, url: url))
        marker(StreamConnected(connection: stream.connectionID, channel: channel, url: url), stream: stream, at: at)
    }

    public func streamDisconnected(_ stream: BybitStream.Info, reason: String, at: Timestamp) async {
        recorder?.append(RecordEntry(t: at.microsecondsSinceEpoch, kind: .disconnect, conn: stream.connectionID,
                                     channel: channel.rawValue, reason: reason))
        marker(StreamDisconnected(connection: stream.connectionID, channel: channel, reason: reason), stream: stream, at: at)
    }

    public func streamSent(_ stream: BybitStream.Info, text: String, at: Timestamp) async {
        recorder?.append(RecordEntry(t: at.microsecondsSinceEpoch, kind: .sent, conn: stream.connectionID,
                                     channel: channel.rawValue, text: text))
    }

    public func streamNotice(_ stream: BybitStream.Info, _ notice: StreamSession.Action, at: Timestamp) async {
        switch notice {
        case .subscriptionFailed(let topic, let message):
            marker(SubscriptionFailed(connection: stream.connectionID, channel: channel, topic: topic, message: message),
                   stream: stream, at: at)
        case .authFailed(let message):
            state.withLock { $0.counters.authFailures += 1 }
            marker(StreamAuthFailed(connection: stream.connectionID, channel: channel, message: message), stream: stream, at: at)
        case .authenticated:
            await onAuthenticated?()
        default:
            break
        }
    }

    public func streamFrame(_ stream: BybitStream.Info, bytes: [UInt8], at: Timestamp) async -> StreamFeedback {
        recorder?.append(RecordEntry.frame(bytes: bytes, t: at.microsecondsSinceEpoch, conn: stream.connectionID,
                                           channel: channel.rawValue))
        let source = "gateway/\(stream.connectionID)"
        let (output, items) = state.withLock { s -> (FrameOutput, [IngestBuffer.Item]) in
            let output = s.decoder.decode(bytes, receivedAt: at)
            s.counters.frames += 1
            s.counters.events += Int64(output.events.count)
            s.counters.resyncs += Int64(output.resync.count)
            var items: [IngestBuffer.Item] = []
            items.reserveCapacity(output.events.count)
            for e in output.events {
                if e.type == "UnparsedFrame" || e.type == "UnknownTopicFrame" { s.counters.unparsed += 1 }
                if e.type == ExchangeWalletUpdated.eventType { s.counters.walletUpdates += 1 }
                items.append(.init(stream: e.stream, event: NewEvent(
                    eventID: e.eventID, type: e.type, data: e.data,
                    metadata: EventMetadata(source: source, exchangeTime: e.exchangeTime, receiveTime: at))))
            }
            return (output, items)
        }
        var resync = output.resync
        if let buffer, !items.isEmpty {
            let lost = buffer.enqueue(items)
            // A replay of the recording leaves them out too (and forgets the same books).
            if lost > 0 {
                recorder?.append(RecordEntry(t: at.microsecondsSinceEpoch, kind: .note, conn: stream.connectionID,
                                             channel: channel.rawValue, reason: RecordEntry.eventsDropped, count: lost))
            }
            // A book update that never reaches the log leaves the log's book (and every fold of
            // it) behind: the book is forgotten (its next updates are logged unsynced) and starts
            // again from a fresh snapshot, asked for once the queue takes frames again.
            let books = lost == 0 ? [] : Set(items.suffix(lost).lazy.filter { $0.event.type == OrderBookUpdated.eventType }.map(\.stream))
            let (newlyOwed, due) = state.withLock { s -> ([String], [String]) in
                s.counters.dropped += Int64(lost)
                let forgotten = books.isEmpty ? [] : s.decoder.forgetBooks(ofStreams: books)
                let fresh = forgotten.filter { !s.owed.contains($0) }
                s.owed.formUnion(forgotten)
                guard lost == 0, !s.owed.isEmpty else { return (fresh, []) }
                defer { s.owed = [] }
                return (fresh, s.owed.sorted())
            }
            if !newlyOwed.isEmpty {
                logger.error("book updates dropped (the log's queue is full): the books start again from fresh snapshots",
                             metadata: ["topics": "\(newlyOwed.joined(separator: ","))", "dropped": "\(lost)"])
            }
            let owed = state.withLock { $0.owed }
            resync = resync.filter { !owed.contains($0) }
            resync += due.filter { !resync.contains($0) }
        }
        return StreamFeedback(control: output.control.flatMap(Self.sessionControl), resync: resync)
    }

    private func marker<P: EventPayload>(_ payload: P, stream: BybitStream.Info, at: Timestamp) {
        guard let buffer else { return }
        let id = DeterministicID.derived(from: "\(connectionStream)/\(stream.connectionID)/\(at.microsecondsSinceEpoch)", kind: P.eventType)
        guard let event = try? NewEvent(eventID: id, payload: payload,
                                        metadata: EventMetadata(source: "gateway/\(stream.connectionID)", receiveTime: at))
        else { return }
        if buffer.enqueue([.init(stream: connectionStream, event: event)]) > 0 {
            recorder?.append(RecordEntry(t: at.microsecondsSinceEpoch, kind: .note, conn: stream.connectionID,
                                         channel: channel.rawValue, reason: RecordEntry.eventsDropped, count: 1))
        }
    }
}

/// `StreamConnected`: a gateway socket opened.
public struct StreamConnected: EventPayload, Equatable {
    public static let eventType = "StreamConnected"
    public var connection: String
    public var channel: BybitChannel
    public var url: String

    public init(connection: String, channel: BybitChannel, url: String) {
        self.connection = connection
        self.channel = channel
        self.url = url
    }
}

/// `StreamDisconnected`: a gateway socket closed, and why.
public struct StreamDisconnected: EventPayload, Equatable {
    public static let eventType = "StreamDisconnected"
    public var connection: String
    public var channel: BybitChannel
    public var reason: String

    public init(connection: String, channel: BybitChannel, reason: String) {
        self.connection = connection
        self.channel = channel
        self.reason = reason
    }
}

/// `StreamAuthFailed`: Bybit refused the private stream's credentials (the key is not named).
public struct StreamAuthFailed: EventPayload, Equatable {
    public static let eventType = "StreamAuthFailed"
    public var connection: String
    public var channel: BybitChannel
    public var message: String
}

/// `SubscriptionFailed`: Bybit refused a topic.
public struct SubscriptionFailed: EventPayload, Equatable {
    public static let eventType = "SubscriptionFailed"
    public var connection: String
    public var channel: BybitChannel
    public var topic: String
    public var message: String
}

extension FrameIngest {
    /// The decoder's control frame, reduced to what the session logic needs.
    static func sessionControl(_ control: ControlFrame) -> StreamSession.Control? {
        switch control {
        case .pong:
            return .pong
        case .subscription(let ack):
            if ack.op == "unsubscribe" {
                return .unsubscribeAck(success: ack.success, reqID: ack.reqID, message: ack.retMsg)
            }
            return .subscribeAck(success: ack.success, reqID: ack.reqID, message: ack.retMsg)
        case .auth(let result):
            return .authAck(success: result.success, message: result.retMsg)
        case .commandResponse(let response):
            let failed = response.failTopics.first
            return .subscribeAck(success: response.success && failed == nil, reqID: response.reqID,
                                 message: failed.map { "error:handler not found,topic:\($0)" } ?? (response.retMsg ?? ""))
        case .orderEntry:
            return nil
        }
    }
}
