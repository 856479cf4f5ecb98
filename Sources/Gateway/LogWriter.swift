import EventLog
import Foundation
import Logging
import Synchronization
import TradelogCore

/// Drains the ``IngestBuffer`` into the log in batches, keeping receive order: consecutive
/// events of one stream go in one `StreamAppend`, so global positions follow the order the
/// frames arrived. Appends are idempotent (deterministic event ids), so a frame seen twice is
/// stored once and a batch retried after a lost connection is safe.
public final class LogWriter: Sendable {
    public struct Stats: Sendable, Equatable {
        public var appended: Int64 = 0
        public var duplicates: Int64 = 0
        public var batches: Int64 = 0
        public var failures: Int64 = 0
        public var lastHead: Int64 = 0
        /// Events the log refused for their contents (each logged and recorded as an `EventRefused`
        /// in the health stream, never retried forever).
        public var rejected: Int64 = 0
    }

    private let log: EventLog
    private let buffer: IngestBuffer
    private let maxBatch: Int
    private let healthStream: String
    private let logger: Logger
    private let counters = Mutex(Stats())
    private let abandoned = Mutex(false)

    /// Stops the retry loop (shutdown gave up waiting for the log).
    public func abandon() {
        abandoned.withLock { $0 = true }
    }

    /// Told of each drop report (its event) once it is stored (the recording notes it, for replays).
    private let onDropReported: (@Sendable (NewEvent) -> Void)?

    public init(log: EventLog, buffer: IngestBuffer, maxBatch: Int = 4_000, healthStream: String, logger: Logger,
                onDropReported: (@Sendable (NewEvent) -> Void)? = nil) {
        self.log = log
        self.buffer = buffer
        self.maxBatch = maxBatch
        self.healthStream = healthStream
        self.logger = logger
        self.onDropReported = onDropReported
    }

    public var stats: Stats { counters.withLock { $0 } }

    /// Runs until the buffer is closed and empty.
    public func run() async {
        var backoffMs: Int64 = 200
        while true {
            if abandoned.withLock({ $0 }) { return }
            let batch = await buffer.peek(max: maxBatch)
            if batch.isEmpty { return }
            do {
                let result = try await log.append(Self.runs(batch))
                buffer.remove(batch.count)
                count(result, batches: 1)
                backoffMs = 200
                if let dropped = buffer.takeDropped() { await recordDropped(dropped) }
            } catch let error where EventLog.refusesData(error) {
                // One bad event must not block the queue: store the others one by one, and an
                // EventRefused (in the health stream) in place of each one refused on its own.
                logger.error("the log refused a gateway batch; appending its events one by one", metadata: ["log.error": "\(error)"])
                var done = 0
                for item in batch {
                    do {
                        switch try await log.appendAlone(item.event, to: item.stream, refusals: healthStream, source: "gateway") {
                        case .stored(let result): count(result, batches: 0)
                        case .refused: counters.withLock { $0.rejected += 1 }
                        }
                    } catch {
                        // The log went away: keep the rest queued for the retry.
                        break
                    }
                    done += 1
                }
                buffer.remove(done)
            } catch {
                counters.withLock { $0.failures += 1 }
                logger.error("gateway cannot append to the log; events wait in memory", metadata: [
                    "log.error": "\(error)", "gateway.queued": "\(buffer.count)", "gateway.retry_in_ms": "\(backoffMs)"])
                try? await Task.sleep(for: .milliseconds(backoffMs))
                backoffMs = min(backoffMs * 2, 5_000)
            }
        }
    }

    private func count(_ result: AppendResult, batches: Int64) {
        counters.withLock { s in
            s.appended += Int64(result.appendedCount)
            s.duplicates += Int64(result.duplicateCount)
            s.batches += batches
            s.lastHead = result.head
        }
    }

    /// Consecutive events of the same stream form one append; order is kept.
    static func runs(_ items: [IngestBuffer.Item]) -> [StreamAppend] {
        StreamAppend.runs(items.lazy.map { (stream: $0.stream, event: $0.event) })
    }

    private func recordDropped(_ dropped: IngestBuffer.Dropped) async {
        logger.critical("gateway queue was full: events dropped (the log was unavailable or slower than the feed)", metadata: [
            "gateway.dropped": "\(dropped.events)", "gateway.capacity": "\(buffer.capacity)"])
        let payload = GatewayDataDropped(
            events: dropped.events, firstReceive: dropped.firstReceive, lastReceive: dropped.lastReceive,
            categories: dropped.categories, capacity: buffer.capacity)
        let key = "\(healthStream)/dropped/\(dropped.firstReceive?.microsecondsSinceEpoch ?? 0)/\(dropped.events)"
        do {
            let event = try NewEvent(
                eventID: DeterministicID.derived(from: key), payload: payload,
                metadata: EventMetadata(source: "gateway", receiveTime: dropped.lastReceive))
            _ = try await log.append(to: healthStream, [event])
            onDropReported?(event)
        } catch {
            logger.error("could not record the drop report; it is kept for the next append", metadata: ["log.error": "\(error)"])
            buffer.restoreDropped(dropped)
        }
    }
}
