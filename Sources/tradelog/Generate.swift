import ArgumentParser
import EventLog
import Foundation
import Logging
import PostgresClient
import TradelogCore

struct Generate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Append synthetic event-shaped rows (load generator for tests, demos and benchmarks).")

    @OptionGroup var db: DatabaseOptions

    @Option(help: "Concurrent appenders, each on its own connection.")
    var appenders = 1

    @Option(help: "Events each appender appends.")
    var events = 1000

    @Option(help: "Largest batch; batches cycle through sizes 1...this.")
    var maxBatch = 1

    @Option(help: "Stream category; events spread over --streams streams named CATEGORY-NNNNNNNNN.")
    var category = "load.gen"

    @Option(help: "Streams per appender.")
    var streams = 10

    @Option(help: "Seed of the deterministic event ids (same seed, same ids: a rerun is all duplicates).")
    var seed = "generate"

    func run() async throws {
        db.bootstrapLogging()
        guard appenders >= 1, events >= 0, maxBatch >= 1, streams >= 1 else {
            throw ValidationError("--appenders, --max-batch and --streams must be at least 1, --events at least 0")
        }
        let settings = db.settings("tradelog:generate")
        let (events, maxBatch, category, streams, seed) = (self.events, self.maxBatch, self.category, self.streams, self.seed)
        let started = ContinuousClock.now
        let totals = try await withThrowingTaskGroup(of: (Int, Int).self) { group in
            for a in 0..<appenders {
                group.addTask {
                    let log = EventLog(settings: settings)
                    var i = 0, batchNo = 0, appended = 0, duplicates = 0
                    while i < events {
                        let size = min(batchNo % maxBatch + 1, events - i)
                        let r = try await log.append(StreamAppend.grouping((i..<(i + size)).map { k in
                            (Synthetic.stream(prefix: "\(category)-a\(a)", index: k, streams: streams),
                             Synthetic.event(seed: "\(seed)/\(a)", index: k))
                        }))
                        appended += r.appendedCount
                        duplicates += r.duplicateCount
                        i += size
                        batchNo += 1
                    }
                    return (appended, duplicates)
                }
            }
            var t = (0, 0)
            for try await r in group { t.0 += r.0; t.1 += r.1 }
            return t
        }
        let seconds = (ContinuousClock.now - started).seconds
        print("appended \(totals.0) events (\(totals.1) duplicates) in \(String(format: "%.2f", seconds)) s")
    }
}

extension Duration {
    var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
