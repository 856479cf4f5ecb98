import Foundation
import TradelogCore

/// What a writer expects a stream's version to be before its append.
public enum ExpectedVersion: Sendable, Equatable, CustomStringConvertible {
    /// No check.
    case any
    /// The stream must not exist yet.
    case noStream
    /// The stream must exist.
    case streamExists
    /// The stream's last version must be exactly this (0 means "no stream").
    case exact(Int64)

    public var description: String {
        switch self {
        case .any: "any"
        case .noStream: "no stream"
        case .streamExists: "stream exists"
        case .exact(let v): String(v)
        }
    }

    func accepts(_ actual: Int64) -> Bool {
        switch self {
        case .any: true
        case .noStream: actual == 0
        case .streamExists: actual > 0
        case .exact(let v): actual == v
        }
    }
}

/// Events for one stream within an append.
public struct StreamAppend: Sendable {
    public var stream: String
    public var expectedVersion: ExpectedVersion
    public var events: [NewEvent]

    public init(stream: String, expectedVersion: ExpectedVersion = .any, events: [NewEvent]) {
        self.stream = stream
        self.expectedVersion = expectedVersion
        self.events = events
    }
}

extension StreamAppend {
    /// One `StreamAppend` per run of consecutive events of one stream, in order: the events
    /// keep their order in the log.
    @inlinable
    public static func runs(_ events: some Sequence<(stream: String, event: NewEvent)>) -> [StreamAppend] {
        var out: [StreamAppend] = []
        for (stream, event) in events {
            if let last = out.last, last.stream == stream {
                out[out.count - 1].events.append(event)
            } else {
                out.append(StreamAppend(stream: stream, events: [event]))
            }
        }
        return out
    }

    /// One `StreamAppend` per stream, in the order streams first appear, each with its
    /// events in input order (no expected version).
    public static func grouping(_ events: [(stream: String, event: NewEvent)]) -> [StreamAppend] {
        var index: [String: Int] = [:]
        var out: [StreamAppend] = []
        for (stream, event) in events {
            if let i = index[stream] {
                out[i].events.append(event)
            } else {
                index[stream] = out.count
                out.append(StreamAppend(stream: stream, events: [event]))
            }
        }
        return out
    }
}

/// Errors of the event log.
public enum EventLogError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The stream's version was not what the append expected; nothing was stored.
    case wrongExpectedVersion(stream: String, expected: ExpectedVersion, actual: Int64)
    /// The append was rejected before reaching the database (bad stream name, empty data...).
    case invalidAppend(String)

    public var description: String {
        switch self {
        case .wrongExpectedVersion(let stream, let expected, let actual):
            "wrong expected version for stream \(stream): expected \(expected), actual \(actual)"
        case .invalidAppend(let why):
            "invalid append: \(why)"
        }
    }
}

/// The outcome of one event of an append.
public enum AppendOutcome: Sendable, Equatable {
    /// Stored now at this position and stream version.
    case appended(globalPosition: Int64, streamVersion: Int64)
    /// Already in the log (same event id), at this position; not stored again.
    case duplicate(globalPosition: Int64)

    /// Stored by this append (not a duplicate).
    public var isAppended: Bool {
        if case .appended = self { return true }
        return false
    }
}

public struct AppendResult: Sendable, Equatable {
    /// One entry per input event, in input order.
    public var outcomes: [AppendOutcome]
    /// The log's head after the append.
    public var head: Int64

    public init(outcomes: [AppendOutcome], head: Int64) {
        self.outcomes = outcomes
        self.head = head
    }

    public var appendedCount: Int {
        var n = 0
        for case .appended in outcomes { n += 1 }
        return n
    }

    public var duplicateCount: Int { outcomes.count - appendedCount }
}

/// A row to insert, with its position and stream version assigned.
struct PlannedRow: Sendable {
    var globalPosition: Int64
    var streamVersion: Int64
    var stream: String
    var category: String
    var isMarket: Bool
    var event: NewEvent
}

struct StreamUpdate: Sendable, Equatable {
    var stream: String
    var category: String
    var version: Int64
    var firstPosition: Int64
    var lastPosition: Int64
}

/// The state an append sees under the log lock.
struct AppendSnapshot: Sendable {
    var head: Int64
    /// Event ids already stored, with their positions.
    var existing: [UUID: Int64]
    /// Current versions of the streams that exist.
    var versions: [String: Int64]
}

/// The pure part of an append: given the locked snapshot, decide positions, versions,
/// duplicates and conflicts. No I/O, unit-tested on its own.
struct AppendPlan: Sendable {
    var rows: [PlannedRow] = []
    var streamUpdates: [StreamUpdate] = []
    var outcomes: [AppendOutcome] = []
    var newHead: Int64

    static func validate(_ appends: [StreamAppend]) throws {
        for a in appends {
            if let problem = StreamName.problem(with: a.stream) {
                throw EventLogError.invalidAppend("\(problem): \(a.stream.debugDescription)")
            }
            for e in a.events {
                if e.type.isEmpty { throw EventLogError.invalidAppend("event \(e.eventID) in \(a.stream) has an empty type") }
                if e.data.isEmpty { throw EventLogError.invalidAppend("event \(e.eventID) in \(a.stream) has empty data") }
                if String(validating: e.data, as: UTF8.self) == nil {
                    throw EventLogError.invalidAppend("event \(e.eventID) in \(a.stream) has data that is not UTF-8")
                }
            }
        }
    }

    init(appends: [StreamAppend], snapshot: AppendSnapshot) throws {
        newHead = snapshot.head
        var seen = snapshot.existing
        var versions = snapshot.versions
        var updateIndex: [String: Int] = [:]
        for a in appends {
            let category = StreamName.category(of: a.stream)
            let isMarket = StreamName.isMarketData(category: category)
            let fresh = a.events.filter { seen[$0.eventID] == nil }
            // A retried batch whose events are all stored already is not a conflict.
            if !fresh.isEmpty {
                let actual = versions[a.stream] ?? 0
                if !a.expectedVersion.accepts(actual) {
                    throw EventLogError.wrongExpectedVersion(stream: a.stream, expected: a.expectedVersion, actual: actual)
                }
            }
            for e in a.events {
                if let position = seen[e.eventID] {
                    outcomes.append(.duplicate(globalPosition: position))
                    continue
                }
                newHead += 1
                let version = (versions[a.stream] ?? 0) + 1
                versions[a.stream] = version
                seen[e.eventID] = newHead
                rows.append(PlannedRow(
                    globalPosition: newHead, streamVersion: version, stream: a.stream,
                    category: category, isMarket: isMarket, event: e))
                outcomes.append(.appended(globalPosition: newHead, streamVersion: version))
                if let i = updateIndex[a.stream] {
                    streamUpdates[i].version = version
                    streamUpdates[i].lastPosition = newHead
                } else {
                    updateIndex[a.stream] = streamUpdates.count
                    streamUpdates.append(StreamUpdate(
                        stream: a.stream, category: category, version: version,
                        firstPosition: newHead, lastPosition: newHead))
                }
            }
        }
    }
}
