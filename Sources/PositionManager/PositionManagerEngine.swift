import Bybit
import BybitClient
import EventLog
import Foundation
import Gateway
import Logging
import OrderManagerCore
import PositionManagerCore
import TradelogCore

/// Counters of the position manager, for health and tests.
public struct PositionManagerCounters: Sendable, Hashable {
    public var eventsFolded = 0
    public var derivedAppended = 0
    /// Events the fold derived again while catching up, already in the log (not appended again).
    public var derivedInLog = 0
    /// Derived events the log refused for their contents (each recorded as a `EventRefused`).
    public var derivedRefused = 0
    public var discrepancies = 0
    public var syncs = 0
}

public enum PositionManagerError: Error, CustomStringConvertible, Sendable {
    case noCredentials

    public var description: String {
        switch self {
        case .noCredentials: "sync needs BYBIT_API_KEY and BYBIT_API_SECRET (the positions and executions are private)"
        }
    }
}

/// The position manager: folds the log into ``PositionManagerState`` and appends what the
/// fold derives (position, portfolio, snapshot and discrepancy events). Derived events that
/// fail to append stay pending: every later follow appends them, with what it derives, until
/// an append succeeds. Their ids come from the causing events, so a repeat stores nothing. One
/// the log refuses for its contents is recorded as a `EventRefused` in its place
/// (``EventLog/appendDerived(_:refusals:source:)``), so it never holds the others back.
public actor PositionManagerEngine {
    let log: EventLog
    /// Nil without API credentials: the fold runs, sync does not.
    let rest: BybitRESTClient?
    let logger: Logger
    /// The wall clock of the I/O edges (sync and snapshot-request receive times).
    let clock: @Sendable () -> Timestamp
    public private(set) var state: PositionManagerState
    /// What the fold derived and could not append yet, in fold order (appended before anything
    /// newer). The state is folded in place, not on a copy: a copy would copy the executions
    /// seen and the orders' strategies (every one since the start) on each batch.
    private var unstored: [DerivedPositionEvent] = []
    public private(set) var counters = PositionManagerCounters()
    let readBatch: Int
    private let gate = FIFOLock()
    /// Once live, a newly detected discrepancy starts a sync (at most one per `autoSyncEvery`).
    var live = false
    let autoSyncEvery: Duration
    private var autoSync: Task<Void, Never>?
    private var lastSyncAt: ContinuousClock.Instant?

    public init(config: PositionManagerConfig, log: EventLog, rest: BybitRESTClient?, readBatch: Int = 2000,
                autoSyncEvery: Duration = .seconds(10), clock: @escaping @Sendable () -> Timestamp = { Timestamp.now() },
                logger: Logger = Logger(label: "tradelog.position-manager")) {
        state = PositionManagerState(config: config)
        self.log = log
        self.rest = rest
        self.readBatch = readBatch
        self.autoSyncEvery = autoSyncEvery
        self.clock = clock
        self.logger = logger
    }

    /// The earliest start of drops not synced yet (ms; every sync covers it and clears it once
    /// it succeeds, unless another report came meanwhile), the reports folded, and the automatic
    /// syncs after drops that failed in a row.
    var pendingDrops = PendingDrops()
    var dropSyncFrom: Int64? { pendingDrops.fromMs }
    var dropSyncFailures = 0

    /// What the fold reads, and the gateway's drop reports (dropped private frames start a sync).
    static let readTypes = (PositionManagerState.foldedTypes + [GatewayDataDropped.eventType]).sorted()

    /// What the fold derived from causes before this log position is in the log already
    /// (looked up at the first follow, ``EventLog/lastDerivedCause(source:lookBack:)``): folding
    /// the log again at start derives it again, and it is not appended again. Without this, each
    /// start re-appended every position, portfolio and snapshot event of the log's history (all
    /// duplicates, each batch failing and run again under the log's lock); and after retention
    /// dropped old tickers, history folded differently would be appended as new events.
    private var derivedThrough: Int64?

    /// Folds the log from the state's position to the head. Returns how many events were folded.
    @discardableResult
    public func follow() async throws -> Int {
        await gate.lock()
        defer { gate.unlock() }
        var total = 0
        if derivedThrough == nil {
            derivedThrough = try await log.lastDerivedCause(source: PositionEvents.source)
        }
        let stored = derivedThrough ?? 0
        while true {
            try Task.checkCancellation()
            let (events, through) = try await log.readThrough(after: state.position, limit: readBatch, types: Self.readTypes)
            let undecodable = state.undecodable
            for e in events {
                let derived = state.apply(e)
                // The last cause's own events again too: an append one by one (after a refusal) may
                // have stored only some of them (the rest go in; those stored are duplicates).
                if e.globalPosition >= stored { unstored += derived } else { counters.derivedInLog += derived.count }
            }
            if state.undecodable > undecodable {
                logger.error("events the fold cannot decode were skipped", metadata: [
                    "count": "\(state.undecodable - undecodable)", "last": "\(state.lastUndecodable ?? "")"])
            }
            // The gateway lost fill or position frames: the exchange's figures are fetched, and
            // executions from when the drops began. Kept while not live too: the start-up sync
            // covers it then.
            if pendingDrops.note(events), live, rest != nil {
                logger.warning("the gateway dropped fill or position frames; syncing with the exchange")
                scheduleSync(trigger: "gateway-drop")
            }
            total += events.count
            counters.eventsFolded += events.count
            if !unstored.isEmpty {
                try await append(unstored)
                unstored = []
            }
            if events.count < readBatch {
                // Nothing of ours up to the head: the next read starts there, not at our last event.
                state.position = max(state.position, through)
                return total
            }
        }
    }

    /// Where a derived event the log refuses for its contents is recorded
    /// (``EventRefused``), so that it does not hold back what the fold derives after it.
    public static let refusalStream = "positionmanager.refused-events"

    func append(_ derived: [DerivedPositionEvent]) async throws {
        // Consecutive events of one stream go together (one group per stream run).
        let result = try await log.appendDerived(derived.map { ($0.stream, $0.event) }, refusals: Self.refusalStream,
                                                 source: PositionEvents.source)
        counters.derivedAppended += result.appendedCount
        counters.derivedRefused += result.refused.count
        var found = 0
        for (d, outcome) in zip(derived, result.outcomes) {
            guard case .appended = outcome, d.event.type == PositionDiscrepancy.eventType else { continue }
            found += 1
        }
        guard found > 0 else { return }
        counters.discrepancies += found
        logger.warning("position discrepancy with the exchange", metadata: ["count": "\(found)"])
        if live, rest != nil { scheduleSync() }
    }

    func scheduleSync(trigger: String = "discrepancy") {
        guard autoSync == nil else { return }
        autoSync = Task {
            if let last = self.lastSyncAt {
                let wait = last + self.autoSyncEvery - ContinuousClock.now
                if wait > .zero { try? await Task.sleep(for: wait) }
            }
            let afterDrops = self.dropSyncFrom != nil
            do {
                _ = try await self.sync(trigger: afterDrops ? "gateway-drop" : trigger)
                self.dropSyncSucceeded()
            } catch {
                if afterDrops { self.dropSyncFailed() }
                self.logger.warning("automatic sync failed; the next discrepancy or POST /api/v1/positions/sync retries",
                                    metadata: ["trigger": "\(trigger)", "error": "\(error)"])
            }
            self.autoSyncDone()
        }
    }

    func autoSyncDone() {
        autoSync = nil
        // Drops reported during that sync, or left by its failure: once more (every
        // `autoSyncEvery`; after 5 failures in a row, the next sync covers them).
        if dropSyncFrom != nil, dropSyncFailures < 5, live, rest != nil { scheduleSync(trigger: "gateway-drop") }
    }

    func dropSyncSucceeded() { dropSyncFailures = 0 }

    func dropSyncFailed() {
        dropSyncFailures += 1
        if dropSyncFailures == 5 {
            logger.error("sync after dropped frames failed 5 times; the next sync (at start or POST /api/v1/positions/sync) covers the drops")
        }
    }

    /// From now on, a new discrepancy starts a sync.
    public func goLive() {
        live = true
        // Drops reported while the start-up sync ran (it left them for another sync).
        if dropSyncFrom != nil, rest != nil { scheduleSync(trigger: "gateway-drop") }
    }

    /// Until the next ``goLive()`` (the loop lost its lease or its connection): no automatic sync.
    public func goStandby() { live = false }

    /// Waits for a sync started by a discrepancy (tests, shutdown).
    public func drainAutoSync() async { await autoSync?.value }

    /// Asks for a snapshot now (an event, so the snapshot is taken at its place in the log).
    /// Returns the snapshot id.
    public func requestSnapshot(reason: String) async throws -> String {
        let requestID = UUID().uuidString.lowercased()
        let event = try NewEvent(eventID: DeterministicID.derived(from: requestID, kind: "snapshot-request"),
                                 payload: PositionSnapshotRequested(requestID: requestID, reason: reason),
                                 metadata: EventMetadata(source: PositionEvents.source, receiveTime: clock()))
        _ = try await log.append(to: PositionEvents.requestStream, [event])
        try await follow()
        return "r-\(requestID)"
    }

    func syncStarted() { lastSyncAt = .now; counters.syncs += 1 }
}
