import Foundation
import Logging
import PostgresClient
import TradelogCore

/// The PostgreSQL event log: append, read forward, read a stream, read a category.
///
/// An `EventLog` owns two connections (one to append, one to read), each on its own thread.
/// Several `EventLog`s, in one process or many, may append at once: appends serialize on the
/// log lock, which is what makes `global_position` gap-free and commit-ordered.
public final class EventLog: Sendable {
    /// The channel a commit notifies; the payload is the new head.
    public static let notifyChannel = "tradelog_events"

    public let settings: PGSettings
    let writer: PGConnection
    let reader: PGConnection
    let logger: Logger

    /// Appends of at most this many events go through one server-side statement (one round
    /// trip, its own commit); larger ones through binary `COPY`.
    public static let defaultSmallAppendLimit = 64
    let smallAppendLimit: Int

    public init(settings: PGSettings, smallAppendLimit: Int = EventLog.defaultSmallAppendLimit,
                logger: Logger = Logger(label: "tradelog.eventlog")) {
        self.smallAppendLimit = smallAppendLimit
        self.settings = settings
        self.logger = logger
        self.writer = PGConnection(settings: settings.with(applicationName: settings.applicationName + ":append"), logger: logger)
        self.reader = PGConnection(settings: settings.with(applicationName: settings.applicationName + ":read"), logger: logger)
    }

    // MARK: append

    /// Appends events to one or more streams atomically: all are stored, or none.
    ///
    /// Events whose id is already in the log are not stored again and are reported as
    /// ``AppendOutcome/duplicate(globalPosition:)``. A stream whose version differs from its
    /// ``StreamAppend/expectedVersion`` fails the whole append with
    /// ``EventLogError/wrongExpectedVersion(stream:expected:actual:)``.
    public func append(_ appends: [StreamAppend]) async throws -> AppendResult {
        try AppendPlan.validate(appends)
        if EventLog.fitsSmallAppend(appends, limit: smallAppendLimit) {
            // One statement is its own transaction: no BEGIN/COMMIT round trips.
            return try await writer.withConnection { conn in try EventLog.appendSmall(appends, on: conn) }
        }
        // This transaction is ours: on a duplicate in the target partition, roll it all back
        // and run again with every partition looked up (no savepoint round trip needed).
        do {
            return try await writer.withTransaction { conn in
                try EventLog.appendLarge(appends, on: conn, probeTargetPartition: false)
            }
        } catch let error as PGError where EventLog.isDuplicateEventID(error) {
            return try await writer.withTransaction { conn in
                try EventLog.appendLarge(appends, on: conn, probeTargetPartition: true)
            }
        }
    }

    static func isDuplicateEventID(_ error: PGError) -> Bool {
        error.sqlState == PGError.uniqueViolation && error.constraint?.hasSuffix("_event_id_key") == true
    }

    /// Appends events to one stream.
    public func append(to stream: String, expectedVersion: ExpectedVersion = .any, _ events: [NewEvent]) async throws -> AppendResult {
        try await append([StreamAppend(stream: stream, expectedVersion: expectedVersion, events: events)])
    }

    /// Appends inside the caller's open transaction on `conn`, so that a processor can store
    /// its new events together with its own checkpoint. Holds the log lock until that
    /// transaction ends: keep it short.
    public static func append(
        _ appends: [StreamAppend], on conn: isolated PGConnection, smallAppendLimit: Int = defaultSmallAppendLimit
    ) throws -> AppendResult {
        try AppendPlan.validate(appends)
        return fitsSmallAppend(appends, limit: smallAppendLimit)
            ? try appendSmall(appends, on: conn) : try appendLarge(appends, on: conn)
    }

    /// Small enough, and each stream in one group only (the server-side check compares
    /// with the versions before the batch).
    static func fitsSmallAppend(_ appends: [StreamAppend], limit: Int) -> Bool {
        var count = 0
        var streams = Set<String>()
        for a in appends {
            count += a.events.count
            if count > limit || !streams.insert(a.stream).inserted { return false }
        }
        return count > 0
    }

    /// The whole append in one call of `tl_append_small` (see schema/0001_event_log.sql).
    static func appendSmall(_ appends: [StreamAppend], on conn: isolated PGConnection) throws -> AppendResult {
        var ids: [String] = [], streams: [String] = [], categories: [String] = [], retention: [String] = []
        var expected: [Int64] = [], types: [String] = [], schemaVersions: [Int64] = [], data: [String] = []
        var correlation: [String?] = [], causation: [String?] = [], trace: [String?] = [], source: [String?] = []
        var exchange: [Int64?] = [], receive: [Int64?] = []
        for a in appends {
            let category = StreamName.category(of: a.stream)
            let market = StreamName.isMarketData(category: category)
            let code: Int64 = switch a.expectedVersion {
            case .any: -1
            case .streamExists: -2
            case .noStream: 0
            case .exact(let v): v
            }
            for e in a.events {
                ids.append(e.eventID.lowercasedString)
                streams.append(a.stream)
                categories.append(category)
                retention.append(market ? "market" : "domain")
                expected.append(code)
                types.append(e.type)
                schemaVersions.append(Int64(e.schemaVersion))
                data.append(String(decoding: e.data, as: UTF8.self))
                correlation.append(e.metadata.correlationID)
                causation.append(e.metadata.causationID)
                trace.append(e.metadata.traceID)
                source.append(e.metadata.source)
                exchange.append(e.metadata.exchangeTime?.microsecondsSinceEpoch)
                receive.append(e.metadata.receiveTime?.microsecondsSinceEpoch)
            }
        }
        let r = try conn.query(
            """
            SELECT ord, outcome, out_position, out_version, conflict_stream, conflict_expected
            FROM tl_append_small($1::uuid[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[],
                                 $7::integer[], $8::jsonb[], $9::text[], $10::text[], $11::text[], $12::text[],
                                 $13::bigint[], $14::bigint[])
            """,
            ["{" + ids.joined(separator: ",") + "}", PGArrayLiteral.text(streams), PGArrayLiteral.text(categories),
             PGArrayLiteral.text(retention), PGArrayLiteral.int64(expected), PGArrayLiteral.text(types),
             PGArrayLiteral.int64(schemaVersions), PGArrayLiteral.text(data), PGArrayLiteral.optionalText(correlation),
             PGArrayLiteral.optionalText(causation), PGArrayLiteral.optionalText(trace), PGArrayLiteral.optionalText(source),
             PGArrayLiteral.optionalInt64(exchange), PGArrayLiteral.optionalInt64(receive)])
        if r.rowCount == 1, r.string(0, 1) == "c" {
            let stream = r.string(0, 4)!
            let expectedVersion = appends.first { $0.stream == stream }?.expectedVersion ?? .any
            throw EventLogError.wrongExpectedVersion(stream: stream, expected: expectedVersion, actual: r.int(0, 3) ?? 0)
        }
        guard r.rowCount == ids.count else {
            throw PGError(code: .unexpectedResult, message: "tl_append_small returned \(r.rowCount) rows for \(ids.count) events")
        }
        var outcomes: [AppendOutcome] = []
        outcomes.reserveCapacity(ids.count)
        var head: Int64 = 0
        for i in 0..<r.rowCount {
            let position = r.int(i, 2) ?? 0
            if r.string(i, 1) == "a" {
                outcomes.append(.appended(globalPosition: position, streamVersion: r.int(i, 3) ?? 0))
                head = max(head, position)
            } else {
                outcomes.append(.duplicate(globalPosition: position))
            }
        }
        if head == 0 { head = try EventLog.head(on: conn) }
        return AppendResult(outcomes: outcomes, head: head)
    }

    /// The plan computed here, the rows sent by binary `COPY`; inside the caller's transaction.
    ///
    /// First without looking the ids up in the partition the rows go to (its unique index
    /// does that); if that index reports a duplicate, back to the savepoint and again with
    /// every partition looked up, so the duplicate is reported, not stored.
    static func appendLarge(_ appends: [StreamAppend], on conn: isolated PGConnection) throws -> AppendResult {
        try conn.execute("SAVEPOINT tl_append")
        do {
            return try appendLarge(appends, on: conn, probeTargetPartition: false)
        } catch let error as PGError where isDuplicateEventID(error) {
            try conn.execute("ROLLBACK TO SAVEPOINT tl_append")
            return try appendLarge(appends, on: conn, probeTargetPartition: true)
        }
    }

    static func appendLarge(
        _ appends: [StreamAppend], on conn: isolated PGConnection, probeTargetPartition: Bool
    ) throws -> AppendResult {
        var ids: [UUID] = []
        var streams: [String] = []
        var hasMarket = false, hasDomain = false
        for a in appends {
            streams.append(a.stream)
            if !a.events.isEmpty {
                if StreamName.isMarketData(stream: a.stream) { hasMarket = true } else { hasDomain = true }
            }
            for e in a.events { ids.append(e.eventID) }
        }
        if ids.isEmpty {
            return AppendResult(outcomes: [], head: try head(on: conn))
        }
        let begin = try conn.query(
            "SELECT kind, key, value FROM tl_append_begin($1::uuid[], $2::text[], $3::boolean, $4::boolean, $5::boolean)",
            parameters: [.uuidArray(ids), .text(PGArrayLiteral.text(streams)), .text(hasMarket ? "t" : "f"),
                         .text(hasDomain ? "t" : "f"), .text(probeTargetPartition ? "t" : "f")])
        var snapshot = AppendSnapshot(head: 0, existing: [:], versions: [:])
        // All rows in one leaf partition: COPY into it and skip the parent's tuple routing.
        var table = "events"
        for i in 0..<begin.rowCount {
            let value = begin.int(i, 2) ?? 0
            switch begin.string(i, 0) {
            case "h": snapshot.head = value
            case "d": snapshot.existing[UUID(uuidString: begin.string(i, 1)!)!] = value
            case "p": table = begin.string(i, 1) ?? "events"
            default: snapshot.versions[begin.string(i, 1)!] = value
            }
        }
        let plan = try AppendPlan(appends: appends, snapshot: snapshot)
        if !plan.rows.isEmpty {
            try conn.copyIn(EventRows.copyStatement(table: table), payload: EventRows.encode(plan.rows))
            let u = plan.streamUpdates
            try conn.query(
                "SELECT tl_append_end($1, $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::bigint[])",
                [String(plan.newHead), PGArrayLiteral.text(u.map(\.stream)), PGArrayLiteral.text(u.map(\.category)),
                 PGArrayLiteral.int64(u.map(\.version)), PGArrayLiteral.int64(u.map(\.firstPosition)),
                 PGArrayLiteral.int64(u.map(\.lastPosition))])
        }
        return AppendResult(outcomes: plan.outcomes, head: plan.newHead)
    }

    // MARK: read

    /// The position of the last committed event (0 for an empty log).
    public func head() async throws -> Int64 {
        try await reader.withConnection { try EventLog.head(on: $0) }
    }

    static func head(on conn: isolated PGConnection) throws -> Int64 {
        Int64(try conn.scalar("SELECT position FROM log_head WHERE id = 1") ?? "0") ?? 0
    }

    /// Up to `limit` events after `position`, in log order.
    public func read(after position: Int64, limit: Int) async throws -> [RecordedEvent] {
        try await reader.withConnection { try EventLog.read(after: position, limit: limit, on: $0) }
    }

    static func read(after position: Int64, limit: Int, on conn: isolated PGConnection) throws -> [RecordedEvent] {
        let r = try conn.query(
            "SELECT \(EventRows.selectColumns) FROM events WHERE global_position > $1 ORDER BY global_position LIMIT $2",
            [String(position), String(limit)], binary: true)
        return EventRows.decodeAll(r)
    }

    /// Up to `limit` events of the given types after `position`, in log order: a fold that
    /// reads a few types skips the rest of the log (market books above all) in the database.
    public func read(after position: Int64, limit: Int, types: [String]) async throws -> [RecordedEvent] {
        let list = PGArrayLiteral.text(types)
        return try await reader.withConnection { conn in
            EventRows.decodeAll(try conn.query(
                "SELECT \(EventRows.selectColumns) FROM events WHERE global_position > $1 AND type = ANY($2::text[]) ORDER BY global_position LIMIT $3",
                [String(position), list, String(limit)], binary: true))
        }
    }

    /// The same, and how far the read looked: with fewer than `limit` events, the log's head
    /// when it began (every event of those types up to it was read: positions commit in order);
    /// else the last event's position. A fold of a few types moves its position there, so that
    /// the next read does not scan the same stretch of other events (market books) again.
    public func readThrough(after position: Int64, limit: Int, types: [String]) async throws -> (events: [RecordedEvent], through: Int64) {
        let list = PGArrayLiteral.text(types)
        return try await reader.withConnection { conn in
            let head = try EventLog.head(on: conn)
            let events = EventRows.decodeAll(try conn.query(
                "SELECT \(EventRows.selectColumns) FROM events WHERE global_position > $1 AND global_position <= $2 AND type = ANY($3::text[]) ORDER BY global_position LIMIT $4",
                [String(position), String(head), list, String(limit)], binary: true))
            return (events, events.count < limit ? max(head, position) : events.last!.globalPosition)
        }
    }

    /// The log position of the latest cause of what `source` derived: among `source`'s last
    /// `lookBack` events that name a cause (`causation_id`, an event id), the highest position
    /// of those causes; 0 when there is none. A processor that appends what its fold derives in
    /// fold order (each append atomic, a failed one retried before anything newer) has in the
    /// log every event derived from a cause at or before that position: folding the log again
    /// at start, it need not append those again.
    /// When none of those causes is in the log any more (market data that retention dropped,
    /// after a long stop), it looks `fartherBack` events back for one that is.
    /// With `types`, only events of those types count as derived (a processor whose source
    /// also stores events that are not its fold's).
    public func lastDerivedCause(source: String, types: [String]? = nil, lookBack: Int = 20,
                                 fartherBack: Int = 20_000) async throws -> Int64 {
        let typeList = types.map(PGArrayLiteral.text)
        return try await reader.withConnection { conn in
            for n in [lookBack, max(lookBack, fartherBack)] {
                let found = Int64(try conn.scalar("""
                    SELECT COALESCE(max(c.global_position), 0) FROM (
                        SELECT causation_id FROM events_domain
                        WHERE source = $1 AND causation_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                          AND ($3::text[] IS NULL OR type = ANY($3::text[]))
                        ORDER BY global_position DESC LIMIT $2) d
                    JOIN events c ON c.event_id = d.causation_id::uuid
                    """, [source, String(n), typeList]) ?? "0") ?? 0
                if found > 0 { return found }
            }
            return 0
        }
    }

    /// Up to `limit` events of one category after `position`, in log order.
    public func readCategory(_ category: String, after position: Int64 = 0, limit: Int = 1000) async throws -> [RecordedEvent] {
        try await reader.withConnection { conn in
            EventRows.decodeAll(try conn.query(
                "SELECT \(EventRows.selectColumns) FROM events WHERE category = $1 AND global_position > $2 ORDER BY global_position LIMIT $3",
                [category, String(position), String(limit)], binary: true))
        }
    }

    /// The events of one stream from `version` on, in stream order.
    public func readStream(_ stream: String, fromVersion version: Int64 = 1, limit: Int = 10_000) async throws -> [RecordedEvent] {
        try await reader.withConnection { conn in
            EventRows.decodeAll(try conn.query(
                "SELECT \(EventRows.selectColumns) FROM events WHERE stream = $1 AND stream_version >= $2 ORDER BY stream_version LIMIT $3",
                [stream, String(version), String(limit)], binary: true))
        }
    }

    /// Which of `ids` are in the log (one lookup for all: each leaf's unique index on event_id).
    /// Without `includingMarketData`, only the domain partition is searched (ids of signals,
    /// orders and the like: no probe of every day's market partition).
    ///
    /// An append of this log whose connection broke mid-call may still be running on the server
    /// (the client saw the loss; the backend did not): its session is ended first and waited
    /// for, so the answer is final (an id missing now is never stored by that append later).
    public func storedEventIDs(_ ids: [UUID], includingMarketData: Bool = true) async throws -> Set<UUID> {
        guard !ids.isEmpty else { return [] }
        try await settleLostAppends()
        let list = "{" + ids.map(\.lowercasedString).joined(separator: ",") + "}"
        let sql = includingMarketData
            ? "SELECT event_id::text FROM events WHERE event_id = ANY($1::uuid[])"
            : "SELECT event_id::text FROM events WHERE retention = 'domain' AND event_id = ANY($1::uuid[])"
        return try await reader.withConnection { conn in
            let r = try conn.query(sql, [list])
            return Set((0..<r.rowCount).compactMap { r.string($0, 0).flatMap(UUID.init(uuidString:)) })
        }
    }

    /// Ends, and waits for, the server sessions of this log's appends whose connection broke
    /// mid-call (``PGConnection/settle(_:timeout:)``); they are forgotten once settled. Two
    /// callers at once both settle them (ending a session twice is harmless): neither reads
    /// before they are settled.
    public func settleLostAppends() async throws {
        let lost = writer.lostSessions
        guard !lost.isEmpty else { return }
        try await reader.withConnection { conn in try conn.settle(lost) }
        writer.forgetLostSessions(lost)
        logger.info("ended the server sessions of appends whose connection broke", metadata: ["sessions": "\(lost.count)"])
    }

    /// The current version of a stream (0 when it does not exist).
    public func streamVersion(_ stream: String) async throws -> Int64 {
        try await reader.withConnection { conn in
            Int64(try conn.scalar("SELECT version FROM streams WHERE stream = $1", [stream]) ?? "0") ?? 0
        }
    }

    /// The whole log (or one category) after `position`, fetched lazily in batches of
    /// `batchSize`, so memory stays bounded however long the log is.
    public func readForward(after position: Int64 = 0, batchSize: Int = 1000, category: String? = nil) -> EventBatches {
        EventBatches(log: self, after: position, batchSize: batchSize, category: category)
    }
}

/// Batches of events read forward from a position; ends at the head as it was when each
/// batch was read. The next batch is read while the caller works on the current one (on the
/// log's reader connection), so a fold over the log waits for the database only when it is
/// faster than the database.
public struct EventBatches: AsyncSequence, Sendable {
    public typealias Element = [RecordedEvent]
    let log: EventLog
    let after: Int64
    let batchSize: Int
    let category: String?

    public struct AsyncIterator: AsyncIteratorProtocol {
        let log: EventLog
        var position: Int64
        let batchSize: Int
        let category: String?
        var done = false
        /// The batch after `position`, being read.
        var ahead: Task<[RecordedEvent], any Error>?

        func read(after position: Int64) -> Task<[RecordedEvent], any Error> {
            Task { [log, batchSize, category] in
                if let category { return try await log.readCategory(category, after: position, limit: batchSize) }
                return try await log.read(after: position, limit: batchSize)
            }
        }

        public mutating func next() async throws -> [RecordedEvent]? {
            if done { return nil }
            let pending = ahead ?? read(after: position)
            ahead = nil
            let batch: [RecordedEvent]
            do {
                batch = try await withTaskCancellationHandler { try await pending.value } onCancel: { pending.cancel() }
            } catch {
                done = true
                throw error
            }
            if batch.count < batchSize { done = true }
            guard let last = batch.last else { return nil }
            position = last.globalPosition
            if !done { ahead = read(after: position) }
            return batch
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(log: log, position: after, batchSize: batchSize, category: category)
    }
}
