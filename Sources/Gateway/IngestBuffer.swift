import Foundation
import Synchronization
import TradelogCore

/// The gateway's bounded in-memory queue between the sockets and the log. Sockets never
/// wait on PostgreSQL: when the log is slow or down, events wait here; when the bound is hit,
/// new events are dropped and counted, and the writer records what was lost as a
/// `GatewayDataDropped` event once the log takes writes again (DESIGN invariant 7).
public final class IngestBuffer: Sendable {
    public struct Item: Sendable {
        public var stream: String
        public var event: NewEvent
    }

    public struct Dropped: Sendable, Equatable {
        public var events: Int = 0
        public var firstReceive: Timestamp?
        public var lastReceive: Timestamp?
        /// Dropped events per stream category (sorted by name when reported).
        public var categories: [String: Int] = [:]
    }

    public struct Stats: Sendable {
        public var queued: Int
        public var enqueued: Int64
        public var droppedTotal: Int64
        public var highWater: Int
    }

    private struct State {
        var items: [Item] = []
        var head = 0
        var enqueued: Int64 = 0
        var droppedTotal: Int64 = 0
        var dropped = Dropped()
        var highWater = 0
        var waiter: CheckedContinuation<Void, Never>?
        var closed = false
    }

    public let capacity: Int
    private let state: Mutex<State>

    public init(capacity: Int) {
        self.capacity = capacity
        self.state = Mutex(State())
    }

    /// Queues events in order; returns how many were dropped because the buffer is full.
    @discardableResult
    public func enqueue(_ items: [Item]) -> Int {
        guard !items.isEmpty else { return 0 }
        let (waiter, dropped) = state.withLock { s -> (CheckedContinuation<Void, Never>?, Int) in
            let room = max(0, capacity - (s.items.count - s.head))
            let taken = min(room, items.count)
            s.items.append(contentsOf: items.prefix(taken))
            s.enqueued += Int64(taken)
            let lost = items.count - taken
            if lost > 0 {
                s.droppedTotal += Int64(lost)
                for item in items.suffix(lost) {
                    s.dropped.events += 1
                    let t = item.event.metadata.receiveTime
                    if s.dropped.firstReceive == nil { s.dropped.firstReceive = t }
                    s.dropped.lastReceive = t
                    s.dropped.categories[StreamName.category(of: item.stream), default: 0] += 1
                }
            }
            s.highWater = max(s.highWater, s.items.count - s.head)
            let w = s.waiter
            s.waiter = nil
            return (w, lost)
        }
        waiter?.resume()
        return dropped
    }

    /// Up to `max` items from the front, without removing them (see ``remove(_:)``), so a
    /// failed append keeps them for the retry. Waits while the buffer is empty.
    public func peek(max: Int) async -> [Item] {
        while true {
            let batch: [Item]? = state.withLock { s in
                let n = min(max, s.items.count - s.head)
                if n == 0 { return s.closed ? [] : nil }
                return Array(s.items[s.head..<(s.head + n)])
            }
            if let batch { return batch }
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.items.count - s.head > 0 || s.closed { return true }
                    s.waiter = c
                    return false
                }
                if resumeNow { c.resume() }
            }
        }
    }

    /// Drops the first `count` items (they are in the log).
    public func remove(_ count: Int) {
        state.withLock { s in
            s.head += count
            if s.head > 65_536 && s.head * 2 > s.items.count {
                s.items.removeFirst(s.head)
                s.head = 0
            }
        }
    }

    /// Takes the drop report (and resets it).
    public func takeDropped() -> Dropped? {
        state.withLock { s in
            guard s.dropped.events > 0 else { return nil }
            defer { s.dropped = Dropped() }
            return s.dropped
        }
    }

    /// Puts back a drop report that could not be recorded (merged with any new drops).
    public func restoreDropped(_ d: Dropped) {
        state.withLock { s in
            s.dropped.events += d.events
            if let f = d.firstReceive, s.dropped.firstReceive.map({ f < $0 }) ?? true { s.dropped.firstReceive = f }
            if s.dropped.lastReceive == nil { s.dropped.lastReceive = d.lastReceive }
            for (k, v) in d.categories { s.dropped.categories[k, default: 0] += v }
        }
    }

    /// Wakes a waiting ``peek(max:)`` for good: it returns what is left, then `[]`.
    public func close() {
        let w = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.closed = true
            defer { s.waiter = nil }
            return s.waiter
        }
        w?.resume()
    }

    public var count: Int { state.withLock { $0.items.count - $0.head } }

    public var stats: Stats {
        state.withLock { Stats(queued: $0.items.count - $0.head, enqueued: $0.enqueued, droppedTotal: $0.droppedTotal, highWater: $0.highWater) }
    }
}

/// `GatewayDataDropped`: the buffer bound was hit while the log was unavailable.
public struct GatewayDataDropped: EventPayload, Equatable {
    public static let eventType = "GatewayDataDropped"
    public var events: Int
    public var firstReceive: Timestamp?
    public var lastReceive: Timestamp?
    public var categories: [String: Int]
    public var capacity: Int

    public init(events: Int, firstReceive: Timestamp?, lastReceive: Timestamp?, categories: [String: Int], capacity: Int) {
        self.events = events
        self.firstReceive = firstReceive
        self.lastReceive = lastReceive
        self.categories = categories
        self.capacity = capacity
    }

    /// Whether the dropped events include the account's own (orders, fills, positions, wallet):
    /// the order and position managers then sync with the exchange.
    public var includesPrivateData: Bool { categories.keys.contains { $0.hasPrefix("exchange.") } }

    /// When a logged drop report that includes the account's own events says the drops began
    /// (ms, a minute early: the exchange's times run ahead of our receive times by the transit,
    /// and clocks differ); nil for any other event.
    public static func privateDropStartMs(_ e: RecordedEvent) -> Int64? {
        guard e.type == eventType, let report = try? CanonicalJSON.decoder.decode(Self.self, from: Data(e.data)),
              report.includesPrivateData else { return nil }
        let first = report.firstReceive ?? report.lastReceive ?? e.metadata.receiveTime ?? e.recordedAt
        return first.microsecondsSinceEpoch / 1000 - 60_000
    }
}

/// The drops of private frames that the gateway reported and no sync has covered yet: the
/// order and position managers fetch executions from ``fromMs`` at the latest. A sync takes a
/// ``mark`` when it starts and clears the drops with ``covered(_:)`` once it succeeds, unless
/// another report came meanwhile.
public struct PendingDrops: Sendable {
    public struct Mark: Sendable {
        public let fromMs: Int64?
        let reports: Int
    }

    /// When the earliest uncovered drops began (ms, a minute early), nil when none are pending.
    public private(set) var fromMs: Int64?
    private var reports = 0

    public init() {}

    /// Notes the drop reports with private data among `events`; whether there was one.
    public mutating func note(_ events: [RecordedEvent]) -> Bool {
        var found = false
        for e in events {
            guard let from = GatewayDataDropped.privateDropStartMs(e) else { continue }
            fromMs = min(fromMs ?? from, from)
            reports += 1
            found = true
        }
        return found
    }

    public var mark: Mark { Mark(fromMs: fromMs, reports: reports) }

    /// A sync that started at `mark` succeeded: the drops are covered unless a report came since.
    public mutating func covered(_ mark: Mark) {
        if reports == mark.reports { fromMs = nil }
    }
}
