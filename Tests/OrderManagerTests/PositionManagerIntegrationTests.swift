import AMQP
import Bybit
import BybitClient
import EventLog
import Foundation
import Logging
import OrderManager
import OrderManagerCore
import PositionManager
import PositionManagerCore
import PostgresClient
import Signals
import Testing
import TradelogCore
import TradelogTesting

extension OrderManagerIntegrationTests {
@Suite("Position manager end to end (simulator, PostgreSQL, RabbitMQ)", .serialized)
struct PositionManagerIntegrationTests {
    static let btc = PositionKey(category: "linear", symbol: "BTCUSDT")
    static func num(_ text: String) -> Decimal { Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))! }

    /// Waits until the position manager's BTCUSDT size equals the simulator's and returns both.
    static func settled(_ stack: OMStack) async throws -> (PositionView, RESTPosition?) {
        var last: (PositionView?, RESTPosition?) = (nil, nil)
        let ok = try await TestDatabase.eventually(timeout: .seconds(15)) {
            _ = try await stack.positions.follow()
            let ours = await stack.positions.state.view(btc)
            let theirs = try await stack.rest.positions(category: .linear, symbol: "BTCUSDT").first
            last = (ours, theirs)
            let exchangeSize = theirs.map { $0.side == "Sell" ? -$0.size : ($0.isFlat ? 0 : $0.size) } ?? 0
            // The exchange's own frame has been folded too.
            return ours?.signedSize == exchangeSize && ours?.exchange?.signedSize == exchangeSize
        }
        #expect(ok, "our BTCUSDT position \(String(describing: last.0?.signedSize)) reaches the simulator's \(String(describing: last.1?.size))")
        return (try #require(last.0), last.1)
    }

    static func rows(_ settings: PGSettings, _ table: String, order: String) async throws -> [String] {
        let conn = PGConnection(settings: settings)
        defer { Task { await conn.close() } }
        return try await conn.withConnection { c in
            let r = try c.query("SELECT row_to_json(t)::text FROM (SELECT * FROM \(table) ORDER BY \(order)) t", [])
            return (0..<r.rowCount).compactMap { r.string($0, 0) }
        }
    }

    static let positionOrder = "category, symbol, position_idx"
    static let snapshotOrder = "snapshot_id, category, symbol, position_idx"

    @Test("fills from the order manager move positions and the portfolio to the simulator's figures; three queues; the API; a rebuild gives equal rows")
    func endToEnd() async throws {
        try await OMStack.with(after: { settings in
            // The stack stopped mid-stream: a position manager restarted on the log catches up
            // (re-deriving what it had appended, which stores nothing), then the projections do.
            let log = EventLog(settings: settings)
            _ = try await PositionManagerEngine(config: OMStack.positionConfig(), log: log, rest: nil, logger: OMStack.logger).follow()
            let head = try await log.head()
            let projections = [try PositionsProjection() as any Projection, try PositionSnapshotsProjection()]
            func catchUp() async throws {
                for p in projections {
                    let sub = Subscription(name: p.checkpointName, settings: settings, consumer: .projection(p), logger: OMStack.logger)
                    let t = Task { await sub.follow() }
                    #expect(try await TestDatabase.eventually(timeout: .seconds(20)) { sub.isCaughtUp && sub.position >= head })
                    t.cancel()
                    await t.value
                }
            }
            try await catchUp()
            let positions = try await Self.rows(settings, "positions", order: Self.positionOrder)
            let snapshots = try await Self.rows(settings, "position_snapshots", order: Self.snapshotOrder)
            #expect(!positions.isEmpty && !snapshots.isEmpty)
            // Drop both projections and rebuild them from the log: equal rows, snapshots included.
            let conn = PGConnection(settings: settings)
            for p in projections { try await conn.withConnection { try p.reset(on: $0) } }
            await conn.close()
            #expect(try await Self.rows(settings, "positions", order: Self.positionOrder).isEmpty)
            try await catchUp()
            #expect(try await Self.rows(settings, "positions", order: Self.positionOrder) == positions)
            #expect(try await Self.rows(settings, "position_snapshots", order: Self.snapshotOrder) == snapshots)
            // A fresh fold of the same log derives exactly the events already in it.
            var state = PositionManagerState(config: OMStack.positionConfig())
            var derived: [DerivedPositionEvent] = []
            var after: Int64 = 0
            while true {
                let batch = try await log.read(after: after, limit: 5000)
                guard let last = batch.last else { break }
                for e in batch { derived += state.apply(e) }
                after = last.globalPosition
            }
            #expect(!derived.isEmpty)
            let stored = try await log.read(after: 0, limit: 1_000_000).filter { $0.metadata.source == PositionEvents.source }
            let byID = Dictionary(stored.map { ($0.eventID, $0) }, uniquingKeysWith: { a, _ in a })
            let missing = derived.filter { byID[$0.event.eventID] == nil }
            #expect(missing.isEmpty, "every re-derived event is in the log (\(missing.count) missing)")
            // The log stores data as jsonb (its own key order): compare the JSON values.
            func value(_ data: [UInt8]) -> JSONValue? { try? CanonicalJSON.decoder.decode(JSONValue.self, from: Data(data)) }
            #expect(derived.allSatisfy { d in byID[d.event.eventID].map { value($0.data) == value(d.event.data) } ?? true })
        }) { stack in
            let (buy, buyBody) = OMStack.signal(type: "buy", amount: "800", strategy: "trend-1")
            try await stack.publish([buyBody])
            let buyLink = OrderEvents.orderLinkID(signalID: buy, leg: 0)
            #expect(try await stack.waitOrder(buyLink, [.filled])?.status == .filled)
            let (long, exchangeLong) = try await Self.settled(stack)
            #expect(long.signedSize > 0 && long.fills >= 1)
            // Entry price within a tick of the exchange's; realized PnL (minus the opening fee) equal to its cumRealisedPnl.
            #expect(abs((long.averageEntryPrice ?? 0) - (exchangeLong?.avgPrice ?? 0)) <= Self.num("0.1"))
            #expect(long.realizedPnl == exchangeLong?.cumRealisedPnl)
            #expect(long.strategies.map(\.strategyID) == ["trend-1"])

            let (sell, sellBody) = OMStack.signal(type: "sell", amount: "1200", strategy: "trend-2")
            try await stack.publish([sellBody])
            let sellLink = OrderEvents.orderLinkID(signalID: sell, leg: 0)
            #expect(try await stack.waitOrder(sellLink, [.filled])?.status == .filled)
            let (after, exchangeAfter) = try await Self.settled(stack)
            #expect(after.signedSize < 0, "the sell of 1 200 USDT flips the 800 USDT long")
            #expect(after.realizedPnl == exchangeAfter?.cumRealisedPnl)
            #expect(Set(after.strategies.map(\.strategyID)) == ["trend-1", "trend-2"])
            #expect(after.strategies.reduce(Decimal(0)) { $0 + $1.signedSize } == after.signedSize)
            #expect(await stack.positions.state.openDiscrepancies.isEmpty)
            #expect(try await stack.log.read(after: 0, limit: 100_000).allSatisfy { $0.type != PositionDiscrepancy.eventType })

            // The wallet: the simulator's USDT balance moved by exactly our realized PnL (it started at 100 000).
            let walletOK = try await TestDatabase.eventually(timeout: .seconds(10)) {
                _ = try await stack.positions.follow()
                let p = await stack.positions.state.portfolio
                return p.coins.first { $0.coin == "USDT" }?.walletBalance == 100_000 + p.realizedPnl
            }
            #expect(walletOK)
            let portfolio = await stack.positions.state.portfolio
            #expect(portfolio.openPositions == 1 && portfolio.grossExposure > 0 && portfolio.netExposure < 0)
            #expect(portfolio.strategies.map(\.strategyID) == ["trend-1", "trend-2"])

            // Rows in `positions`, an interval snapshot, and one on request.
            #expect(try await TestDatabase.eventually(timeout: .seconds(10)) {
                try await stack.scalar("SELECT signed_size::text FROM positions WHERE symbol = 'BTCUSDT'") == "\(after.signedSize)"
            })
            try await stack.withPositionAPI { base in
                let (s401, _) = try await OMStack.http(.GET, "\(base)/api/v1/positions", key: nil)
                #expect(s401 == 401)
                let (s, list) = try await OMStack.http(.GET, "\(base)/api/v1/positions?open=true")
                let rows = list["positions"] as? [[String: Any]] ?? []
                #expect(s == 200 && rows.count == 1 && rows.first?["symbol"] as? String == "BTCUSDT")
                #expect((rows.first?["strategies"] as? [[String: Any]])?.count == 2)
                // Integers are JSON numbers; decimals keep their exact text.
                #expect(rows.first?["position_idx"] as? Int == 0 && rows.first?["version"] is Int && rows.first?["fills"] is Int)
                #expect(rows.first?["size"] is String)
                let (s1, one) = try await OMStack.http(.GET, "\(base)/api/v1/positions/BTCUSDT")
                #expect(s1 == 200 && (one["positions"] as? [[String: Any]])?.first?["side"] as? String == "Sell")
                #expect(try await OMStack.http(.GET, "\(base)/api/v1/positions/NOPEUSDT").0 == 404)
                #expect(try await OMStack.http(.GET, "\(base)/api/v1/positions?open=maybe").0 == 400)
                let (sp, p) = try await OMStack.http(.GET, "\(base)/api/v1/portfolio")
                let pf = p["portfolio"] as? [String: Any]
                #expect(sp == 200 && pf?["openPositions"] as? Int == 1 && (pf?["strategies"] as? [Any])?.count == 2)
                let (sn, created) = try await OMStack.http(.POST, "\(base)/api/v1/positions/snapshots")
                let id = created["snapshot_id"] as? String
                #expect(sn == 201 && id?.hasPrefix("r-") == true)
                #expect(try await TestDatabase.eventually(timeout: .seconds(10)) {
                    try await stack.scalar("SELECT count(*) FROM position_snapshots WHERE snapshot_id = $1", [id]) == "1"
                })
                #expect(try await TestDatabase.eventually(timeout: .seconds(15)) {
                    try await stack.scalar("SELECT count(*) FROM position_snapshots WHERE trigger = 'interval'") != "0"
                })
                let from = ISOTimestamp.format(Timestamp(microsecondsSinceEpoch: Timestamp.now().microsecondsSinceEpoch - 3_600_000_000))
                let (ss, snaps) = try await OMStack.http(.GET, "\(base)/api/v1/positions/BTCUSDT/snapshots?from=\(from)")
                let list2 = snaps["snapshots"] as? [[String: Any]] ?? []
                #expect(ss == 200 && list2.contains { $0["snapshot_id"] as? String == id })
                let (sf, _) = try await OMStack.http(.GET, "\(base)/api/v1/positions/BTCUSDT/snapshots?from=yesterday")
                #expect(sf == 400)
                let (sn2, none) = try await OMStack.http(.GET, "\(base)/api/v1/positions/BTCUSDT/snapshots?to=2000-01-01T00:00:00Z")
                #expect(sn2 == 200 && (none["snapshots"] as? [Any])?.isEmpty == true)
            }
            // Seed 004 lists GET /api/v1/positions among the order manager's endpoints: the same rows there.
            try await stack.withPositionAPI { positionBase in
                let listed = try await OMStack.http(.GET, "\(positionBase)/api/v1/positions?category=linear").1["positions"]
                    as? [[String: Any]] ?? []
                let expected = listed.map { [$0["symbol"] as? String, $0["signed_size"] as? String] }
                try await stack.withAPI { base in
                    #expect(try await OMStack.http(.GET, "\(base)/api/v1/positions", key: nil).0 == 401)
                    let (s, list) = try await OMStack.http(.GET, "\(base)/api/v1/positions?category=linear")
                    let rows = list["positions"] as? [[String: Any]] ?? []
                    #expect(s == 200 && rows.count >= 1)
                    #expect(rows.map { [$0["symbol"] as? String, $0["signed_size"] as? String] } == expected)
                    #expect(try await OMStack.http(.GET, "\(base)/api/v1/positions?open=maybe").0 == 400)
                }
            }

            // The three queues carry the messages.
            let updates = try await stack.drain("position-manager.position_updated", minimum: 2)
            #expect(updates.contains { ($0["payload"] as? [String: Any])?["reason"] as? String == "fill" })
            #expect(updates.allSatisfy { $0["log_event_type"] as? String == "PositionUpdated" && $0["source"] as? String == "position-manager" })
            let fill = updates.first { ($0["payload"] as? [String: Any])?["reason"] as? String == "fill" }
            #expect(fill?["correlation_id"] as? String == buy || fill?["correlation_id"] as? String == sell)
            let portfolios = try await stack.drain("position-manager.portfolio_updated", minimum: 1)
            #expect(!portfolios.isEmpty && portfolios.allSatisfy { $0["event_type"] as? String == "portfolio_updated" })
            let snaps = try await stack.drain("position-manager.position_snapshot_created", minimum: 2)
            #expect(snaps.contains { ($0["payload"] as? [String: Any])?["trigger"] as? String == "request" })
            #expect(snaps.contains { ($0["payload"] as? [String: Any])?["trigger"] as? String == "interval" })
        }
    }

    @Test("a discrepancy with the exchange is detected and resolved by the sync it starts; POST sync reports")
    func discrepancyResolvedBySync() async throws {
        try await OMStack.with { stack in
            let (buy, body) = OMStack.signal(type: "buy", amount: "800")
            try await stack.publish([body])
            #expect(try await stack.waitOrder(OrderEvents.orderLinkID(signalID: buy, leg: 0), [.filled])?.status == .filled)
            let (before, _) = try await Self.settled(stack)
            // A fill the exchange never made (as if a frame of another account had been folded).
            let phantom = """
                {"category":"linear","symbol":"BTCUSDT","execId":"phantom-1","execType":"Trade","execPrice":"50000","execQty":"0.005",\
                "execFee":"0","orderId":"phantom-order","orderLinkId":"","side":"Buy","execTime":\(Timestamp.now().microsecondsSinceEpoch / 1000)}
                """
            _ = try await stack.log.append(to: "exchange.execution-phantom-order", [NewEvent(
                eventID: DeterministicID.uuid5(namespace: DeterministicID.namespace, name: "phantom-1"), type: ExchangeExecution.eventType,
                data: Array(phantom.utf8), metadata: EventMetadata(source: "test", receiveTime: .now()))])
            // After the grace (2 s of event time: the tickers move it), a discrepancy, then the sync adopts the exchange's size.
            let stream = PositionEvents.stream(Self.btc)
            let resolved = try await TestDatabase.eventually(timeout: .seconds(30)) {
                _ = try await stack.positions.follow()
                return try await stack.eventTypes(stream: stream).contains(PositionDiscrepancyResolved.eventType)
            }
            #expect(resolved)
            let types = try await stack.eventTypes(stream: stream)
            let d = try #require(types.firstIndex(of: PositionDiscrepancy.eventType))
            #expect(d < types.firstIndex(of: PositionDiscrepancyResolved.eventType)!)
            let discrepancy = try #require(try await stack.payload(stream: stream, type: PositionDiscrepancy.eventType))
            #expect(discrepancy["field"] as? String == "size")
            #expect((discrepancy["ourSignedSize"] as? NSNumber)?.decimalValue == before.signedSize + Self.num("0.005"))
            let resolution = try #require(try await stack.payload(stream: stream, type: PositionDiscrepancyResolved.eventType))
            #expect(resolution["resolution"] as? String == "adopted_exchange")
            let after = try #require(await stack.positions.state.view(Self.btc))
            #expect(after.signedSize == before.signedSize && !after.discrepancy)
            #expect(try await stack.log.read(after: 0, limit: 100_000).contains { $0.type == PositionSyncCompleted.eventType })
            try await stack.withPositionAPI { base in
                let (s, summary) = try await OMStack.http(.POST, "\(base)/api/v1/positions/sync")
                #expect(s == 200 && summary["trigger"] as? String == "api" && (summary["openDiscrepancies"] as? [Any])?.isEmpty == true)
            }
        }
    }
}
}
