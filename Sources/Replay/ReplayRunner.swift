import Bybit
import EventLog
import Foundation
import Recording
import TradelogCore

/// How fast a replay plays: as fast as it can, or paced by the recording's clock.
public enum ReplayPace: Sendable, Hashable, CustomStringConvertible {
    case max
    case multiple(Double)

    /// `max`, `realtime` or `Nx` (e.g. `10x`, `0.5x`).
    public static func parse(_ text: String) -> ReplayPace? {
        switch text.lowercased() {
        case "max": return .max
        case "realtime", "1x": return .multiple(1)
        default:
            // 0.001x to 1000000x: beyond, the pacing's microsecond arithmetic would overflow.
            guard text.lowercased().hasSuffix("x"), let n = Double(text.dropLast()), n >= 0.001, n <= 1_000_000 else { return nil }
            return .multiple(n)
        }
    }

    public var description: String {
        switch self {
        case .max: return "max"
        case .multiple(let n): return n == 1 ? "realtime" : "\(n)x"
        }
    }
}

/// Where a replay's events go: kept in memory, or appended to a PostgreSQL event log.
public protocol ReplayStore {
    /// Stores the events one recording entry produced (in order).
    mutating func store(_ events: [RecordedEvent]) async throws
}

/// The in-memory store: the events as produced.
public struct MemoryReplayStore: ReplayStore {
    public private(set) var events: [RecordedEvent] = []
    public init() {}
    public mutating func store(_ events: [RecordedEvent]) async throws { self.events += events }
}

/// The PostgreSQL store: appends in batches to a log, which must be empty (a fresh log).
public struct LogReplayStore: ReplayStore {
    let log: EventLog
    var buffer: [RecordedEvent] = []
    public private(set) var appended = 0
    let batch: Int

    public init(log: EventLog, batch: Int = 2000) {
        self.log = log
        self.batch = batch
    }

    public mutating func store(_ events: [RecordedEvent]) async throws {
        buffer += events
        if buffer.count >= batch { try await flush() }
    }

    /// Appends what is buffered; events keep their order (one group per run of one stream).
    public mutating func flush() async throws {
        guard !buffer.isEmpty else { return }
        var appends: [StreamAppend] = []
        for e in buffer {
            let event = NewEvent(eventID: e.eventID, type: e.type, schemaVersion: e.schemaVersion, data: e.data,
                                 metadata: e.metadata)
            if let last = appends.last, last.stream == e.stream {
                appends[appends.count - 1].events.append(event)
            } else {
                appends.append(StreamAppend(stream: e.stream, events: [event]))
            }
        }
        let result = try await log.append(appends)
        appended += result.appendedCount
        buffer = []
    }
}

/// The result of one replay.
public struct ReplayResult: Sendable {
    public var digest: String
    public var events: Int
    public var counters: ReplayCounters
    /// Per event type, how many (sorted by type when printed).
    public var types: [String: Int]
    /// The first and last receive time of the recording (µs).
    public var from: Int64
    public var to: Int64
}

/// Runs a recording through a ``ReplayMachine`` into a store, with pacing and progress.
public enum ReplayRunner {
    public static func run<S: ReplayStore>(
        entries: [RecordEntry], settings: ReplaySettings, categories: [RESTCategory], store: inout S,
        pace: ReplayPace = .max, progress: ((Int, Int, Int) -> Void)? = nil
    ) async throws -> ReplayResult {
        try await run(recording: ReplayRecording(entries: entries), settings: settings, categories: categories, store: &store,
                      pace: pace, progress: progress)
    }

    /// The same, for a recording read once and replayed more than once.
    public static func run<S: ReplayStore>(
        recording: ReplayRecording, settings: ReplaySettings, categories: [RESTCategory], store: inout S,
        pace: ReplayPace = .max, progress: ((Int, Int, Int) -> Void)? = nil
    ) async throws -> ReplayResult {
        let entries = recording.entries
        var machine = try ReplayMachine(recording: recording, settings: settings, categories: categories)
        var digest = LogDigest()
        var types: [String: Int] = [:]
        let clock = ContinuousClock()
        let wallStart = clock.now
        let first = entries.first?.t ?? 0
        var lastProgress = clock.now
        for (i, entry) in entries.enumerated() {
            if case .multiple(let n) = pace {
                let due = Duration.microseconds(Int64(Double(entry.t - first) / n))
                let elapsed = clock.now - wallStart
                if due > elapsed { try await Task.sleep(for: due - elapsed) }
            }
            let events = machine.feed(entry)
            for e in events {
                try digest.add(e)
                types[e.type, default: 0] += 1
            }
            try await store.store(events)
            if let progress, clock.now - lastProgress > .seconds(1) {
                lastProgress = clock.now
                progress(i + 1, entries.count, machine.counters.events)
            }
        }
        if var logStore = store as? LogReplayStore {
            try await logStore.flush()
            store = logStore as! S
        }
        progress?(entries.count, entries.count, machine.counters.events)
        return ReplayResult(digest: digest.hexDigest(), events: machine.counters.events, counters: machine.counters, types: types,
                            from: entries.first?.t ?? 0, to: entries.last?.t ?? 0)
    }

    /// The digest of a log's events read back in position order (a PostgreSQL-backed replay).
    public static func logDigest(_ log: EventLog, batch: Int = 5000) async throws -> (digest: String, count: Int) {
        var digest = LogDigest()
        var after: Int64 = 0
        while true {
            let events = try await log.read(after: after, limit: batch)
            for e in events { try digest.add(e) }
            guard let last = events.last, events.count == batch else {
                if let last = events.last { after = last.globalPosition }
                break
            }
            after = last.globalPosition
        }
        let count = digest.count
        return (digest.hexDigest(), count)
    }
}
