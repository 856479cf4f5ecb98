import ArgumentParser
import EventLog
import Foundation
import OrderManager
import PostgresClient
import TradelogCore

struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "What came of signals: `audit signal ID` prints one signal's causation tree; `audit --since T` lists signals.",
        discussion: """
            `tradelog audit signal ID [--format text|json]`: receipt, validation, the risk decision with its figures, \
            intents, exchange answers, fills and cancels, in log order with timings. \
            `tradelog audit --since 2026-11-21T00:00:00Z [--format table|csv|json]`: every signal decided since T \
            with its decision, orders, filled quantity, average price and slippage (from the orders projections).
            """)

    @OptionGroup var db: DatabaseOptions

    @Argument(help: "`signal` followed by a signal id, or nothing with --since.")
    var words: [String] = []

    @Option(help: "List signals decided since this ISO 8601 time.")
    var since: String?

    @Option(help: "table, csv or json for lists; text or json for one signal.")
    var format: String?

    func run() async throws {
        db.bootstrapLogging()
        let settings = db.settings("tradelog-audit")
        if words.count == 2, words[0] == "signal" {
            let log = EventLog(settings: settings)
            let report = try await SignalAudit.report(signalID: words[1], log: log)
            switch format ?? "text" {
            case "json": print(String(decoding: try CanonicalJSON.encoder.encode(report), as: UTF8.self))
            case "text": print(report.text, terminator: "")
            default: throw ValidationError("--format for one signal is text or json")
            }
            if !report.found { throw ExitCode(1) }
            return
        }
        guard words.isEmpty, let since else {
            throw ValidationError("use `tradelog audit signal ID` or `tradelog audit --since T`")
        }
        guard let time = ISOTimestampParse.parse(since) else { throw ValidationError("--since \(since): not an ISO 8601 time") }
        let conn = PGConnection(settings: settings)
        let rows = try await SignalAudit.list(since: time, on: conn)
        await conn.close()
        switch format ?? "table" {
        case "json": print(String(decoding: try CanonicalJSON.encoder.encode(rows), as: UTF8.self))
        case "csv":
            print("signal_id,received_at,strategy_id,asset,decision,orders,filled_qty,average_price,slippage_bps,reasons")
            for r in rows {
                let fields = [r.signalID, r.receivedAt, r.strategyID ?? "", r.asset ?? "", r.decision, "\(r.orders)", r.filledQty,
                              r.averagePrice ?? "", r.slippageBps ?? "", r.reasons]
                print(fields.map(csv).joined(separator: ","))
            }
        case "table":
            print("signal_id                             decision   orders filled          avg_price         slippage_bps reasons")
            for r in rows {
                print("\(pad(r.signalID, 37)) \(pad(r.decision, 10)) \(pad("\(r.orders)", 6)) \(pad(r.filledQty, 15)) "
                      + "\(pad(r.averagePrice ?? "-", 17)) \(pad(r.slippageBps ?? "-", 12)) \(r.reasons)")
            }
        default: throw ValidationError("--format for lists is table, csv or json")
        }
    }

    func csv(_ s: String) -> String {
        s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
    }

    func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
}

/// ISO 8601 with or without fractional seconds.
enum ISOTimestampParse {
    static func parse(_ s: String) -> Timestamp? {
        for options: ISO8601DateFormatter.Options in [[.withInternetDateTime, .withFractionalSeconds], [.withInternetDateTime]] {
            let f = ISO8601DateFormatter()
            f.formatOptions = options
            if let d = f.date(from: s) { return Timestamp(microsecondsSinceEpoch: Int64(d.timeIntervalSince1970 * 1_000_000)) }
        }
        return nil
    }
}
