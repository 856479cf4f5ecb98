import Bybit
import BybitClient
import EventLog
import Foundation
import OrderManager
import PositionManagerCore
import TradelogCore

/// What a sync did.
public struct PositionSyncSummary: Codable, Sendable, Hashable {
    public var syncID: String
    public var trigger: String
    public var executionsFetched: Int
    public var executionsAppended: Int
    public var exchangePositions: Int
    /// Discrepancies open after the sync (zero unless the exchange moved meanwhile).
    public var openDiscrepancies: [String]
}

extension PositionManagerEngine {
    static let syncSource = "position-manager:sync"

    /// Brings our positions in line with the exchange: appends the executions we missed (fills
    /// and funding, since our last), then every open linear position the exchange lists as a
    /// position event, then `PositionSyncCompleted`. The fold adopts the exchange's figures
    /// wherever they still differ, which resolves the open discrepancies.
    /// Executions are fetched from the last fill folded, or from when the gateway's reported
    /// drops began (``dropSyncFrom``, cleared once a sync covering it succeeds), whichever is earlier.
    public func sync(trigger: String) async throws -> PositionSyncSummary {
        guard let rest else { throw PositionManagerError.noCredentials }
        syncStarted()
        try await follow()
        let drops = pendingDrops.mark
        let executionsSinceMs = drops.fromMs
        let now = clock()
        let syncID = "\(now.microsecondsSinceEpoch / 1000)"
        var summary = PositionSyncSummary(syncID: syncID, trigger: trigger, executionsFetched: 0, executionsAppended: 0,
                                          exchangePositions: 0, openDiscrepancies: [])
        var appends: [StreamAppend] = []
        for category in [RESTCategory.linear, .spot] {
            var since = state.lastExecutionMs[category.rawValue].map { $0 - 1 }
            if let from = executionsSinceMs { since = min(since ?? from, from) }
            let list = try await rest.allExecutions(category: category, startTime: since, nowMs: now.microsecondsSinceEpoch / 1000)
            summary.executionsFetched += list.count
            for x in list.sorted(by: { ($0.execTime, $0.execId) < ($1.execTime, $1.execId) })
            where !state.hasExecution(category: category.rawValue, symbol: x.symbol, execId: x.execId) {
                let owner = x.execType == "Funding" || x.orderId.isEmpty ? x.symbol : x.orderId
                appends.append(StreamAppend(stream: "exchange.execution-\(owner)", events: [
                    try SyncEvents.execution(x, category: category, receiveTime: now, source: Self.syncSource)]))
            }
        }
        var keys: [String] = []
        // The exchange's time of the answer (its clock, as the fills' execTime): the list holds
        // every fill executed before it.
        let (listed, positionsAsOfMs) = try await rest.positionsAsOf(category: .linear, settleCoin: "USDT")
        for p in listed where !p.isFlat {
            let key = PositionKey(category: "linear", symbol: p.symbol, positionIdx: p.positionIdx)
            keys.append(key.description)
            appends.append(StreamAppend(stream: "exchange.position-\(key)", events: [try SyncEvents.position(
                p, category: .linear, name: "position-sync/\(syncID)/\(key)", receiveTime: now, source: Self.syncSource)]))
        }
        summary.exchangePositions = keys.count
        let completed = PositionSyncCompleted(syncID: syncID, trigger: trigger, categories: ["linear"], positions: keys.sorted(),
                                              executionsFetched: summary.executionsFetched, positionsAsOfMs: positionsAsOfMs)
        appends.append(StreamAppend(stream: PositionEvents.syncStream(syncID), events: [try NewEvent(
            eventID: DeterministicID.derived(from: "position-sync/\(syncID)/\(trigger)", kind: "sync-completed"), payload: completed,
            metadata: EventMetadata(source: PositionEvents.source, receiveTime: now))]))
        let result = try await log.append(appends)
        summary.executionsAppended = appends.count - keys.count - 1
        _ = result
        // Covered, unless another report came during this sync (it reruns).
        pendingDrops.covered(drops)
        try await follow()
        summary.openDiscrepancies = state.openDiscrepancies.map(\.description)
        return summary
    }
}
