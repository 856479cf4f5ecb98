import Bybit
import BybitClient
import EventLog
import Foundation
import Gateway
import Logging
import OrderManagerCore
import PostgresClient
import Signals
import TradelogCore

/// Counters of the order manager, for status and tests.
public struct OrderManagerCounters: Sendable, Hashable {
    public var signalsDecided = 0
    public var refused = 0
    public var requestsSent = 0
    public var accepted = 0
    public var rejected = 0
    public var unknown = 0
    public var derivedAppended = 0
    /// Events the fold derived again while catching up, already in the log (not appended again).
    public var derivedInLog = 0
    /// Derived events the log refused for their contents (each recorded as a `EventRefused`).
    public var derivedRefused = 0
}

/// The order manager's heart: the state folded from the log, the decisions on signals,
/// the requests to Bybit and their outcomes, all as events.
///
/// State changes only by folding the log in order (``follow()``); a batch of signals is
/// decided on that state, its events appended atomically with the `SignalReceived`s, and
/// only then are the requests sent (DESIGN invariant 6). Outcomes are appended as events
/// and come back into the state through the fold.
public actor OrderManagerEngine {
    let log: EventLog
    let rest: BybitRESTClient
    let logger: Logger
    /// The wall clock of the I/O edges (answer receive times, intent ages at start).
    let clock: @Sendable () -> Timestamp
    public private(set) var state: OrderManagerState
    /// What the fold derived and could not append yet, in fold order. The state has folded its
    /// causes, so every later follow appends it (with what that follow derives) before anything
    /// newer, until an append succeeds (an event the log refuses for its contents is recorded
    /// as a `EventRefused` in its place). The state is folded in place, never on a copy: a copy
    /// per batch would copy every order record, and a state held back would have decisions
    /// made without the orders already requested.
    private var unstored: [DerivedEvent] = []
    /// The intents of signal batches whose append failed with its outcome unknown (the
    /// connection broke, so the commit may have landed). Before the next batch is decided,
    /// those found in the log are sent: nothing else would send them, since the intake's retry
    /// of the batch finds its signals stored and decides nothing. The rest were not stored, and
    /// the retry decides their signals anew. Looked up only there, before anything of the next
    /// batch is appended (batches come one at a time from the intake), so a lookup never sees
    /// the retry's own append of the same intents, which that append's caller sends.
    private var outcomeUnknown: [UnknownOutcomeIntent] = []
    struct UnknownOutcomeIntent {
        let eventID: UUID
        let request: OrderRequest
        /// When its signal was received (its age decides whether it may still be sent).
        let receivedAt: Timestamp?
    }
    /// The state may lag behind this process's own appends (a batch stored with its reply
    /// lost, a fold after a batch or a trading-state change that failed): the next batch is
    /// decided only after folding the log again.
    private var mustFollow = false
    /// What the fold derived from causes before this log position is in the log already
    /// (looked up at the first follow, ``EventLog/lastDerivedCause(source:types:lookBack:fartherBack:)``):
    /// a new process folding the log again does not append it again.
    private var derivedThrough: Int64?
    /// Intents derived by the fold whose append failed: one that comes back as a duplicate on
    /// the retry was stored by the failed attempt and never sent, so it is sent then.
    private var derivedIntentsOfFailedAppend: Set<UUID> = []
    public internal(set) var counters = OrderManagerCounters()
    /// Whether requests derived by the fold (re-prices, timeout cancels) are sent: off while
    /// catching up at start, when sync settles whatever is pending instead.
    var live = false
    private var following = false
    private var syncing = false
    private var syncWaiters: [CheckedContinuation<Void, Never>] = []
    private var followWaiters: [CheckedContinuation<Void, Never>] = []
    /// Request batches still running, by id; each removes itself when done.
    private var inFlight: [Int: Task<Void, Never>] = [:]
    var syncAfterDrop: Task<Void, Never>?
    /// Drops of private frames the gateway reported that no sync has covered yet.
    var pendingDrops = PendingDrops()
    var dropSyncFrom: Int64? { pendingDrops.fromMs }
    /// Requests sent and not answered yet, per `orderLinkId`: the sync leaves their orders to
    /// the answer.
    private(set) var requestsInFlight: [String: Int] = [:]
    /// The `OrderRequested` of each create sent from a signal batch, until answered: its answer
    /// may come before the state has folded the intent (the batch is folded after sending), and
    /// still names its cause, signal and trace.
    var sentCreates: [String: SentIntent] = [:]
    private var nextTaskID = 0
    let readBatch: Int

    public init(config: OrderManagerConfig, log: EventLog, rest: BybitRESTClient, readBatch: Int = 1000,
                clock: @escaping @Sendable () -> Timestamp = { Timestamp.now() },
                logger: Logger = Logger(label: "tradelog.order-manager")) {
        self.state = OrderManagerState(config: config)
        self.log = log
        self.rest = rest
        self.clock = clock
        self.readBatch = readBatch
        self.logger = logger
    }

    // MARK: following the log

    /// Folds the log from the state's position to the head: appends what the fold derives
    /// (lifecycle and fill events; their ids make repeats no-ops) and, once live, sends the
    /// requests it derives. Returns how many events were read.
    @discardableResult
    public func follow() async throws -> Int {
        await lockFollow()
        defer { unlockFollow() }
        var total = 0
        if derivedThrough == nil {
            // Only the fold derives lifecycle and fill events (decisions and outcomes share the source).
            derivedThrough = try await log.lastDerivedCause(source: OrderEvents.source,
                                                            types: [OrderLifecycleChanged.eventType, OrderExecuted.eventType])
        }
        let stored = derivedThrough ?? 0
        while true {
            try Task.checkCancellation()
            // Only what the fold reads (and the gateway's drop reports): trades, klines and the
            // position manager's events are skipped in the database, not read and decoded here.
            let (events, through) = try await log.readThrough(after: state.position, limit: readBatch, types: Self.readTypes)
            total += events.count
            let undecodable = state.undecodable
            for e in events {
                let derived = state.apply(e)
                // The last cause's own events again too (a one-by-one append may have stored some only).
                if e.globalPosition >= stored { unstored += derived } else { counters.derivedInLog += derived.count }
            }
            if state.undecodable > undecodable {
                logger.error("events the fold cannot decode were skipped", metadata: [
                    "count": "\(state.undecodable - undecodable)", "last": "\(state.lastUndecodable ?? "")"])
            }
            // The gateway lost order or fill frames: what they said is fetched from the exchange.
            // Kept while not live too (the report often comes while the managers recover from
            // the same outage): the start-up sync covers it then.
            if pendingDrops.note(events), live { scheduleSyncAfterDrop() }
            if !unstored.isEmpty {
                try await appendDerived(unstored)
                unstored = []
            }
            if events.count < readBatch {
                // Nothing more of ours up to the head: the next read starts there.
                state.position = max(state.position, through)
                return total
            }
        }
    }

    /// What the fold reads, and the gateway's drop reports (dropped private frames start a sync).
    static let readTypes = (OrderManagerState.foldedTypes.union([GatewayDataDropped.eventType])).sorted()

    /// One sync at a time after the gateway reported dropped private frames, fetching executions
    /// from when the drops began (every sync covers ``dropSyncFrom`` and clears it once it
    /// succeeds); a report that comes during a sync makes it run again, a failed sync is retried
    /// (5 times, backing off; after that the next sync, at start or by POST /api/v1/sync, covers it).
    func scheduleSyncAfterDrop() {
        guard syncAfterDrop == nil else { return }
        logger.warning("the gateway dropped order or fill frames; syncing with the exchange")
        syncAfterDrop = Task { await self.syncAfterDrops() }
    }

    func syncAfterDrops() async {
        var failures = 0
        while live, !Task.isCancelled, dropSyncFrom != nil {
            do {
                _ = try await sync(trigger: "gateway-drop", categories: state.instrumentCategoriesLoaded.sorted { $0.rawValue < $1.rawValue })
                failures = 0
            } catch {
                failures += 1
                guard failures < 5 else {
                    logger.error("sync after dropped frames failed 5 times; the next sync (at start or POST /api/v1/sync) covers the drops",
                                 metadata: ["error": "\(error)"])
                    break
                }
                logger.warning("sync after dropped frames failed; retrying", metadata: ["error": "\(error)", "attempt": "\(failures)"])
                try? await Task.sleep(for: .seconds(2 << failures))
            }
        }
        syncAfterDrop = nil
    }

    /// The fold must not interleave with itself across its suspension points (FIFO).
    func lockFollow() async {
        if !following {
            following = true
            return
        }
        await withCheckedContinuation { followWaiters.append($0) }
    }

    func lockSync() async {
        if !syncing {
            syncing = true
            return
        }
        await withCheckedContinuation { syncWaiters.append($0) }
    }

    func unlockSync() {
        if syncWaiters.isEmpty { syncing = false } else { syncWaiters.removeFirst().resume() }
    }

    func unlockFollow() {
        if followWaiters.isEmpty { following = false } else { followWaiters.removeFirst().resume() }
    }

    /// Where a derived event the log refuses for its contents is recorded
    /// (``EventRefused``), so that it does not hold back what the fold derives after it.
    public static let refusalStream = "ordermanager.refused-events"

    func appendDerived(_ derived: [DerivedEvent]) async throws {
        let result: DerivedAppendResult
        do {
            result = try await log.appendDerived(derived.map { ($0.stream, $0.event) }, refusals: Self.refusalStream,
                                                 source: OrderEvents.source)
        } catch {
            // Some may be stored all the same (a reply lost after the commit, or the one-by-one
            // path stopped half-way): the retry finds those as duplicates.
            for d in derived where d.intent != nil { derivedIntentsOfFailedAppend.insert(d.event.eventID) }
            throw error
        }
        counters.derivedAppended += result.appendedCount
        counters.derivedRefused += result.refused.count
        let failedBefore = derivedIntentsOfFailedAppend
        derivedIntentsOfFailedAppend = []
        guard live else { return }
        // Sent once stored by this append, or by an earlier attempt of this process that failed
        // (a duplicate otherwise was sent before, or is settled by the start-up sync). A
        // refused intent is not sent (only what the log holds is).
        var send: [OrderRequest] = []
        for (i, d) in derived.enumerated() where d.intent != nil {
            guard let outcome = result.outcomes[i], Self.storedByUs(outcome, d.event.eventID, failedBefore),
                  let request = OrderRequest(d.event) else { continue }
            send.append(request)
        }
        if !send.isEmpty { dispatch(send) }
    }

    /// Whether this process stored an intent and has not sent it: stored by this append, or,
    /// a duplicate now, by an earlier attempt of ours whose outcome was unknown (`earlier`).
    static func storedByUs(_ outcome: AppendOutcome, _ id: UUID, _ earlier: Set<UUID>) -> Bool {
        outcome.isAppended || earlier.contains(id)
    }

    /// Waits for requests sent in the background (tests, shutdown).
    public func drainRequests() async {
        while let task = inFlight.values.first { await task.value }
    }

    // MARK: signals

    /// Appends a batch of the intake's events (`SignalReceived`s and rejections) together with
    /// the decisions on its new signals, atomically; then sends the requests. Returns the
    /// outcomes of the intake's own events only, in their order.
    public func handle(_ appends: [StreamAppend]) async throws -> AppendResult {
        // A standby or a starting process decides nothing: its state is not the log's, and
        // intents of before a crash are not settled yet (DESIGN invariant 6).
        guard live else { throw OrderManagerNotLive() }
        // A SignalReceived already in the log was decided when it was stored (a redelivery,
        // or the intake's retry of a batch whose reply was lost): deciding it again on today's
        // state could store a second, different decision for the signal (stale by now, or
        // refused for the order its first decision requested).
        let (stored, unseenIntents) = try await catchUpBeforeDeciding(signals: appends.flatMap { a in
            a.events.filter { $0.type == SignalReceived.eventType }.map(\.eventID)
        })
        let (all, own) = decideBatch(appends, stored: stored)
        // Still live after the lookup and the fold (the lease may have gone meanwhile).
        guard live else { throw OrderManagerNotLive() }
        let result: AppendResult
        do {
            result = try await log.append(all)
        } catch let error as PGError where error.isConnectionProblem {
            noteOutcomeUnknown(all)
            throw error
        }
        // Send only what this append stored: a redelivered signal's requests were sent
        // before, or are settled by the start-up sync. Or what a failed append of this
        // process stored after all, its commit landing after the lookup (the same decision
        // gives the same ids): never sent yet.
        var send: [OrderRequest] = []
        // Stored, but no longer live (the lease went during the append): the intents are left
        // to the start-up sync of whichever process runs next, which settles unsent intents.
        for (event, outcome) in zip(all.flatMap(\.events), result.outcomes) where live {
            guard Self.storedByUs(outcome, event.eventID, unseenIntents), let request = OrderRequest(event) else { continue }
            if case .create(let r) = request {
                sentCreates[r.orderLinkId] = SentIntent(eventID: event.eventID, signalID: r.signalID, traceID: r.traceID)
            }
            send.append(request)
        }
        if !send.isEmpty { dispatch(send) }
        // The batch is stored and its requests sent: a failed fold after it is not the batch's
        // failure (the intake would take the signals for bad messages). The state has folded
        // what it read; the order manager's loop follows again and appends what is left.
        await follow(after: "a signal batch")
        return AppendResult(outcomes: own.map { result.outcomes[$0] }, head: result.head)
    }

    /// The batch's events with the decisions on its new signals (those not in `stored`), each
    /// signal decided on the state with the batch's earlier decisions folded in (a scratch copy
    /// of the state, gone when this returns: kept alive across the append's suspension, it
    /// would make every change the fold meanwhile made to the state copy the state's orders).
    /// Returns the appends and the indexes of the intake's own events among them.
    func decideBatch(_ appends: [StreamAppend], stored: Set<UUID>) -> (all: [StreamAppend], own: [Int]) {
        func isNewSignal(_ e: NewEvent) -> Bool { e.type == SignalReceived.eventType && !stored.contains(e.eventID) }
        var scratch = state
        // Each signal's receipt, decision and intents together, signal after signal (the
        // order the decisions were made in, so a replay folds what each decision saw). A
        // decision event of the signal's own stream joins the receipt's group: one group per
        // stream keeps the append on the log's single-statement path.
        var all: [StreamAppend] = []
        var own: [Int] = []
        var flat = 0
        let signals = appends.reduce(0) { n, a in n + a.events.filter(isNewSignal).count }
        var decided = 0
        var position = scratch.position
        for a in appends {
            all.append(a)
            own += flat..<(flat + a.events.count)
            flat += a.events.count
            for e in a.events where isNewSignal(e) {
                guard let received = try? CanonicalJSON.decoder.decode(SignalReceived.self, from: Data(e.data)) else { continue }
                let at = e.metadata.receiveTime ?? clock()
                let decision = OrderDecider.decide(received.signal, receivedEventID: e.eventID, receivedAt: at, state: scratch)
                decided += 1
                // The next signal of the batch sees this one's decision (the last needs no fold:
                // the log is folded after the append anyway).
                if decided < signals {
                    for (stream, ev) in [(a.stream, e)] + decision.events {
                        position += 1
                        _ = scratch.apply(RecordedEvent(globalPosition: position, eventID: ev.eventID, stream: stream, streamVersion: 0,
                                                        type: ev.type, schemaVersion: ev.schemaVersion, data: ev.data,
                                                        metadata: ev.metadata, recordedAt: at))
                    }
                }
                for d in decision.events {
                    if all[all.count - 1].stream == d.stream {
                        all[all.count - 1].events.append(d.event)
                    } else {
                        all.append(StreamAppend(stream: d.stream, events: [d.event]))
                    }
                    flat += 1
                }
                counters.signalsDecided += 1
                if decision.refusal != nil { counters.refused += 1 }
            }
        }
        return (all, own)
    }

    /// Keeps the intents of a batch whose append failed with its outcome unknown.
    func noteOutcomeUnknown(_ appends: [StreamAppend]) {
        mustFollow = true
        for e in appends.lazy.flatMap(\.events) {
            if let request = OrderRequest(e) {
                outcomeUnknown.append(UnknownOutcomeIntent(eventID: e.eventID, request: request, receivedAt: e.metadata.receiveTime))
            }
        }
    }

    /// Before a batch is decided, one lookup of the batch's signals and of the intents of
    /// unknown outcome: a batch's append is atomic, so that snapshot holds a lost batch's
    /// signals and intents both or neither. The intents it holds are sent (a create older than
    /// `maxIntentAgeMs` expires instead, as the start-up sync would expire it: it was decided
    /// on prices of then); and the state is folded up to the log when it may lag behind this
    /// process's own appends. Returns the signals stored already, and the intents not found
    /// (a commit landing later: the retry's append finds them as duplicates).
    func catchUpBeforeDeciding(signals: [UUID]) async throws -> (stored: Set<UUID>, unseenIntents: Set<UUID>) {
        // Taken before the lookup: a concurrent call finds none, so nothing is sent twice.
        let pending = outcomeUnknown
        outcomeUnknown = []
        let snapshot: Set<UUID>
        do {
            snapshot = try await log.storedEventIDs(signals + pending.map(\.eventID), includingMarketData: false)
            if pending.contains(where: { snapshot.contains($0.eventID) }) { mustFollow = true }
            if mustFollow {
                try await follow()
                mustFollow = false
            }
        } catch {
            outcomeUnknown = pending + outcomeUnknown
            throw error
        }
        var found: [UnknownOutcomeIntent] = []
        var unseen: Set<UUID> = []
        for p in pending {
            if snapshot.contains(p.eventID) { found.append(p) } else { unseen.insert(p.eventID) }
        }
        guard !found.isEmpty else { return (snapshot, unseen) }
        let now = clock()
        var send: [OrderRequest] = []
        var expired: [(stream: String, event: NewEvent)] = []
        var expiring: [UnknownOutcomeIntent] = []
        for f in found {
            let link = f.request.orderLinkId
            let ageMs = f.receivedAt.map { (now.microsecondsSinceEpoch - $0.microsecondsSinceEpoch) / 1000 } ?? 0
            if case .create = f.request, ageMs > state.config.maxIntentAgeMs,
               let event = Self.outcomeEvent(OrderExpired(orderLinkId: link, ageMs: ageMs, maxAgeMs: state.config.maxIntentAgeMs),
                                             link: link, kind: "expired", record: state.order(link), at: now) {
                expired.append((OrderEvents.stream(orderLinkId: link), event))
                expiring.append(f)
            } else {
                send.append(f.request)
            }
        }
        logger.notice("the intents of a signal batch whose append reply was lost are in the log",
                      metadata: ["sent": "\(send.count)", "expired": "\(expired.count)"])
        if !send.isEmpty { dispatch(send) }
        guard !expired.isEmpty else { return (snapshot, unseen) }
        // Folded before deciding: an order left `requested` would refuse its asset's signals.
        do {
            _ = try await log.append(expired.map { StreamAppend(stream: $0.stream, events: [$0.event]) })
            try await follow()
        } catch {
            // Looked up again next time (they are stored), expired then.
            outcomeUnknown = expiring + outcomeUnknown
            mustFollow = true
            throw error
        }
        return (snapshot, unseen)
    }

    // MARK: trading state

    /// Switches ACTIVE / REDUCE_ONLY / HALTED (an event, so every decision after it sees it).
    public func setTradingState(_ s: TradingState, reason: String) async throws -> TradingStateChanged {
        try await follow()
        let change = TradingStateChanged(state: s, previous: state.tradingState, reason: reason)
        let version = try await log.streamVersion(OrderEvents.tradingStateStream)
        let id = DeterministicID.derived(from: OrderEvents.tradingStateStream, index: Int(version) + 1, kind: "trading-state")
        let event = try NewEvent(eventID: id, payload: change, metadata: EventMetadata(source: OrderEvents.source, receiveTime: clock()))
        _ = try await log.append(to: OrderEvents.tradingStateStream, expectedVersion: .exact(version), [event])
        // The change is stored: a failed fold after it is not the change's failure (the caller
        // would retry a change already made).
        await follow(after: "a trading-state change")
        return change
    }

    /// Follows the log after something of ours was stored. A failure is not that thing's: it
    /// is logged, the order manager's loop follows again, and the next batch is decided only
    /// after a fold (`mustFollow`).
    func follow(after what: String) async {
        do {
            try await follow()
        } catch {
            mustFollow = true
            logger.warning("following the log after \(what) failed; the order manager's loop retries",
                           metadata: ["error": "\(error)"])
        }
    }

    // MARK: requests

    func finished(_ id: Int) { inFlight[id] = nil }

    func answered(_ link: String) {
        if let n = requestsInFlight[link], n > 1 {
            requestsInFlight[link] = n - 1
        } else {
            requestsInFlight[link] = nil
            sentCreates[link] = nil
        }
    }

    /// Sends requests in the background, concurrently (the rate limiter paces them).
    func dispatch(_ requests: [OrderRequest]) {
        counters.requestsSent += requests.count
        for r in requests { requestsInFlight[r.orderLinkId, default: 0] += 1 }
        nextTaskID += 1
        let id = nextTaskID
        let sequences = Self.sequences(requests)
        inFlight[id] = Task {
            await withTaskGroup(of: Void.self) { group in
                for sequence in sequences {
                    group.addTask {
                        // One after another: a decision's cancel frees its margin before its create is sent.
                        for r in sequence {
                            await self.execute(r)
                            await self.answered(r.orderLinkId)
                        }
                    }
                }
            }
            self.finished(id)
        }
    }

    /// The requests grouped by the signal that caused them (in their order: a decision lists
    /// cancels before amends before creates), each group sent in turn, the groups side by
    /// side; a request without a signal id goes alone. (Re-prices and timeout cancels carry
    /// their order's signal; they come in batches of their own, one per order.)
    static func sequences(_ requests: [OrderRequest]) -> [[OrderRequest]] {
        var groups: [[OrderRequest]] = []
        var slot: [String: Int] = [:]
        for r in requests {
            guard let signal = r.signalID, !signal.isEmpty else {
                groups.append([r])
                continue
            }
            if let i = slot[signal] {
                groups[i].append(r)
            } else {
                slot[signal] = groups.count
                groups.append([r])
            }
        }
        return groups
    }
}

/// What an answer names when the state has not folded its intent yet.
struct SentIntent: Sendable {
    var eventID: UUID
    var signalID: String
    var traceID: String?
}
