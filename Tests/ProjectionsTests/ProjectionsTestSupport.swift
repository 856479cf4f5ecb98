import EventLog
import Foundation
import Logging
import PostgresClient
import Projections
import TradelogCore
import TradelogTesting

enum Support {
    static let directory = TestDatabase.projectionsDirectory

    /// Appends workload events `range` in batches.
    static func append(_ log: EventLog, _ workload: ProjectionWorkload, _ range: Range<Int>, batch: Int = 250) async throws {
        var i = range.lowerBound
        while i < range.upperBound {
            let end = min(range.upperBound, i + batch)
            _ = try await log.append(StreamAppend.grouping(workload.batch(i..<end)))
            i = end
        }
    }

    /// A live appender: workload events from `from` in batches of 40 every 2 ms, until
    /// cancelled or `upTo`; its value is the next index it would have appended.
    static func liveAppender(_ log: EventLog, _ workload: ProjectionWorkload, from: Int, upTo: Int) -> Task<Int, Never> {
        Task {
            var i = from
            while !Task.isCancelled && i < upTo {
                _ = try? await log.append(StreamAppend.grouping(workload.batch(i..<(i + 40))))
                i += 40
                try? await Task.sleep(for: .milliseconds(2))
            }
            return i
        }
    }

    /// The in-memory fold of the whole log.
    static func foldLog(_ settings: PGSettings, names: [String] = ProjectionCatalog.names) async throws -> InMemoryProjections {
        var memory = try InMemoryProjections(names: names)
        for try await batch in EventLog(settings: settings).readForward(batchSize: 2000) { try memory.apply(batch) }
        return memory
    }

    static func fastOptions() -> SubscriptionOptions {
        var o = SubscriptionOptions()
        o.pollInterval = .milliseconds(50)
        o.retryMin = .milliseconds(20)
        o.retryMax = .milliseconds(200)
        o.batchSize = 300
        return o
    }

    /// Live projection writers, as the services run them.
    static func startProjections(_ settings: PGSettings, names: [String] = ProjectionCatalog.names,
                                 directory: URL = Support.directory) throws -> [(Subscription, Task<Void, Never>)] {
        try names.map { n in
            let p = try ProjectionCatalog.projection(n, directory: directory)
            let sub = Subscription(name: p.checkpointName, settings: settings, consumer: .projection(p), options: fastOptions())
            return (sub, Task { await sub.follow() })
        }
    }

    static func stop(_ subs: [(Subscription, Task<Void, Never>)]) async {
        for (_, t) in subs { t.cancel() }
        for (_, t) in subs { await t.value }
    }

    /// Waits until every subscription has handled the log's head.
    static func caughtUp(_ subs: [(Subscription, Task<Void, Never>)], _ log: EventLog) async throws -> Bool {
        let head = try await log.head()
        return try await TestDatabase.eventually(timeout: .seconds(60)) { subs.allSatisfy { $0.0.isCaughtUp && $0.0.position >= head } }
    }

    static func digest(_ settings: PGSettings, _ name: String, table: String? = nil) async throws -> RowDigest {
        let conn = PGConnection(settings: settings)
        let spec = ProjectionCatalog.spec(name)!
        let d = try await conn.withConnection { try RowDigests.digest(spec, table: table ?? name, on: $0) }
        await conn.close()
        return d
    }

    static func quiet() -> RebuildOptions {
        var o = RebuildOptions()
        o.progress = { _ in }
        o.batchSize = 200
        o.switchLag = 200
        return o
    }
}
