import EventLog
import Foundation
import PostgresClient
import Projections
import Synchronization
import TradelogCore

/// The rebuild benchmark (issue 7): on a scratch database, a log of `events` events (the
/// projection workload: order lifecycles, decisions, denials, refusals, position updates and
/// snapshots among market trades) filled with large COPY appends; the append rate of one
/// live appender alone for a few seconds; then every projection rebuilt while that
/// appender runs. Returns the total rebuild time and the appender's rate during the
/// rebuilds over its rate alone. Prints nothing but progress (stderr).
func benchRebuild(settings: PGSettings, events: Int) async throws -> (rebuildSeconds: Double, appendRateRatio: Double, details: [String]) {
    @Sendable func say(_ line: String) { FileHandle.standardError.write(Data(("bench rebuild: " + line + "\n").utf8)) }
    let name = "tradelog_bench_rebuild_\(ProcessInfo.processInfo.processIdentifier)"
    return try await withScratchDatabase(settings, name: name) { scratch in
        var details: [String] = []
        let log = EventLog(settings: scratch)
        let workload = ProjectionWorkload(idPrefix: "bench")
        let fillBatch = 20_000
        var t0 = ContinuousClock.now
        var filled = 0
        var lastSay = ContinuousClock.now
        while filled < events {
            let end = min(events, filled + fillBatch)
            _ = try await log.append(StreamAppend.grouping(workload.batch(filled..<end)))
            filled = end
            if (ContinuousClock.now - lastSay).benchSeconds >= 2 {
                lastSay = ContinuousClock.now
                say("filling the log: \(filled) of \(events)")
            }
        }
        let fillSeconds = (ContinuousClock.now - t0).benchSeconds
        details.append("fill: \(events) events in \(fmt(fillSeconds)) s (\(fmt0(Double(events) / fillSeconds)) events/s, appends of \(fillBatch))")

        // Live versions exist (empty, v1) so that each rebuild builds v2 beside one.
        let conn = PGConnection(settings: scratch)
        for n in ProjectionCatalog.names {
            let p = try ProjectionCatalog.projection(n)
            try await conn.withConnection { try p.setUp(on: $0) }
        }
        await conn.close()

        // One live appender: appends of 10 events, back to back, as a busy gateway would.
        let appended = BenchCounter()
        let live = ProjectionWorkload(idPrefix: "bench-live")
        let liveLog = EventLog(settings: scratch)
        let appender = Task {
            var i = 0
            while !Task.isCancelled {
                _ = try await liveLog.append(StreamAppend.grouping(live.batch(i..<(i + 10))))
                i += 10
                appended.value.withLock { $0 = i }
            }
        }
        defer { appender.cancel() }
        say("measuring the live appender alone")
        try await Task.sleep(for: .milliseconds(500))
        var a0 = appended.value.withLock { $0 }
        t0 = ContinuousClock.now
        try await Task.sleep(for: .seconds(4))
        let aloneRate = Double(appended.value.withLock { $0 } - a0) / (ContinuousClock.now - t0).benchSeconds
        details.append("live appender alone: \(fmt0(aloneRate)) events/s (appends of 10)")

        var options = RebuildOptions()
        options.progress = { say($0) }
        options.batchSize = 10_000
        options.switchLag = 10_000
        let rebuilder = ProjectionRebuilder(settings: scratch)
        a0 = appended.value.withLock { $0 }
        t0 = ContinuousClock.now
        for n in ProjectionCatalog.names {
            let r = try await rebuilder.rebuild(n, options: options)
            details.append("rebuild \(n): v\(r.version) in \(fmt(r.seconds)) s, \(r.rows) rows, switched at \(r.checkpoint)")
        }
        let rebuildSeconds = (ContinuousClock.now - t0).benchSeconds
        let duringRate = Double(appended.value.withLock { $0 } - a0) / rebuildSeconds
        appender.cancel()
        _ = try? await appender.value
        details.append("rebuild of every projection: \(fmt(rebuildSeconds)) s over a log of \(events)+ events")
        details.append("live appender during the rebuilds: \(fmt0(duringRate)) events/s (\(fmt3(duringRate / aloneRate)) of alone)")
        return (rebuildSeconds, duringRate / aloneRate, details)
    }
}

/// The live appender's count, shared with the measuring task.
private final class BenchCounter: Sendable {
    let value = Mutex(0)
}

extension Duration {
    fileprivate var benchSeconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }
}
