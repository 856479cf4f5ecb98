import Bybit
import EventLog
import Foundation
import PositionManagerCore
import PostgresClient
import TradelogCore

/// `positions`: one row per position, its latest `PositionUpdated`.
public struct PositionsProjection: TableProjection {
    public let directory: URL
    public var spec: ProjectionSpec { Self.spec }

    public init(projectionsDirectory: URL = ResourceDirectory.projections) throws {
        directory = projectionsDirectory
        _ = try ProjectionFiles.newest("positions", in: projectionsDirectory)
    }

    /// Every column follows the latest update.
    public static let spec = ProjectionSpec(
        name: "positions",
        columns: PositionColumns.shared(.replace) + [
            .init("closed_pnl", .numeric, .replace), .init("leverage", .numeric, .replace),
            .init("liquidation_price", .numeric, .replace), .init("exchange_size", .numeric, .replace),
            .init("exchange_entry_price", .numeric, .replace), .init("discrepancy", .boolean, .replace),
            .init("fills", .integer, .replace), .init("last_reason", .text, .replace), .init("version", .integer, .replace),
            .init("updated_at", .timestamptz, .replace), .init("updated_position", .bigint, .replace, logPosition: true),
        ],
        primaryKey: ["category", "symbol", "position_idx"], eventTypes: [PositionUpdated.eventType],
        rows: { e in
            // Most of a position's updates are marks: read their columns straight from the JSON.
            if let row = StoredPositionRow.row(e) { return [row] }
            let u = try TapeDecoder.decodeOrFallBack(PositionUpdated.self, from: e.data)
            let p = u.position
            let d = ProjectionValue.decimal
            return [try PositionColumns.values(p) + [
                d(p.closedPnl), d(p.leverage), d(p.liquidationPrice), d(p.exchange?.signedSize), d(p.exchange?.entryPrice),
                ProjectionValue.bool(p.discrepancy), String(p.fills), u.reason, String(u.version), ProjectionValue.time(u.time),
                String(e.globalPosition),
            ]]
        })
}

/// `position_snapshots`: one row per position per `PositionSnapshotCreated`.
public struct PositionSnapshotsProjection: TableProjection {
    public let directory: URL
    public var spec: ProjectionSpec { Self.spec }

    public init(projectionsDirectory: URL = ResourceDirectory.projections) throws {
        directory = projectionsDirectory
        _ = try ProjectionFiles.newest("position_snapshots", in: projectionsDirectory)
    }

    /// Insert-only.
    public static let spec = ProjectionSpec(
        name: "position_snapshots",
        columns: PositionColumns.shared(.keep) + [
            .init("snapshot_id", .text, .key), .init("taken_at", .timestamptz, .keep), .init("trigger", .text, .keep),
            .init("global_position", .bigint, .keep, logPosition: true),
        ],
        primaryKey: ["snapshot_id", "category", "symbol", "position_idx"], eventTypes: [PositionSnapshotCreated.eventType],
        rows: { e in
            let s = try TapeDecoder.decodeOrFallBack(PositionSnapshotCreated.self, from: e.data)
            return try s.positions.map { p in
                try PositionColumns.values(p) + [s.snapshotID, ProjectionValue.time(s.time), s.trigger, String(e.globalPosition)]
            }
        })
}

/// The columns both tables share, in this order.
enum PositionColumns {
    static func shared(_ merge: ProjectionMerge) -> [ProjectionColumn] {
        [.init("category", .text, .key), .init("symbol", .text, .key), .init("position_idx", .integer, .key),
         .init("side", .text, merge), .init("size", .numeric, merge), .init("signed_size", .numeric, merge),
         .init("average_entry_price", .numeric, merge), .init("mark_price", .numeric, merge),
         .init("unrealized_pnl", .numeric, merge), .init("realized_pnl", .numeric, merge), .init("fees", .numeric, merge),
         .init("funding", .numeric, merge), .init("total_pnl", .numeric, merge), .init("notional", .numeric, merge),
         .init("quote_coin", .text, merge), .init("strategies", .jsonb, merge)]
    }

    static func values(_ p: PositionView) throws -> [String?] {
        let strategies = String(decoding: try CanonicalJSON.encoder.encode(p.strategies), as: UTF8.self)
        let d = ProjectionValue.decimal
        return [p.category, p.symbol, String(p.positionIdx), p.side, d(p.size), d(p.signedSize), d(p.averageEntryPrice),
                d(p.markPrice), d(p.unrealizedPnl), d(p.realizedPnl), d(p.fees), d(p.funding), d(p.totalPnl),
                d(p.notional), p.quoteCoin, strategies]
    }
}

/// The `positions` row of a stored `PositionUpdated`, read from its canonical JSON without
/// `Codable`: decimals are JSON numbers whose text is the `Decimal`'s description, the
/// strategies are copied as written. Nil for any shape it does not expect (a missing or
/// mistyped member, an escaped key, a repeated key): the spec then decodes the event as usual.
enum StoredPositionRow {
    static func row(_ e: RecordedEvent) -> [String?]? {
        guard e.schemaVersion == PositionUpdated.schemaVersion, let doc = try? JSONDocument(parsing: e.data),
              let top = StoredMembers(doc.root), let p = top["position"].flatMap(StoredMembers.init),
              let reason = top["reason"]?.string, let time = integer(top["time"]), let version = integer(top["version"]),
              let category = p["category"]?.string, let symbol = p["symbol"]?.string, let idx = integer(p["positionIdx"]),
              let side = p["side"]?.string, let quoteCoin = p["quoteCoin"]?.string,
              let discrepancy = p["discrepancy"]?.bool, let fills = integer(p["fills"]),
              let strategies = p["strategies"], strategies.kind == .array, strategies.elements.allSatisfy({ $0.kind == .object })
        else { return nil }
        var required: [String] = []
        for name: StaticString in ["size", "signedSize", "unrealizedPnl", "realizedPnl", "fees", "funding", "totalPnl", "notional", "closedPnl"] {
            guard let v = p[name], v.kind == .number, let text = v.numberText else { return nil }
            required.append(text)
        }
        var optional: [String?] = []
        for name: StaticString in ["averageEntryPrice", "markPrice", "leverage", "liquidationPrice"] {
            guard let v = number(p[name]) else { return nil }
            optional.append(v)
        }
        var exchangeSize: String?
        var exchangeEntry: String?
        if let x = p["exchange"], x.kind != .null {
            guard let xm = StoredMembers(x), xm["side"]?.string != nil, let size = xm["signedSize"], size.kind == .number,
                  let entry = number(xm["entryPrice"])
            else { return nil }
            exchangeSize = size.numberText
            exchangeEntry = entry
        }
        let strategiesJSON = String(decoding: strategies.rawBytes, as: UTF8.self)
        // The column order of PositionColumns.shared, then the positions columns.
        return [category, symbol, idx, side, required[0], required[1], optional[0], optional[1], required[2], required[3],
                required[4], required[5], required[6], required[7], quoteCoin, strategiesJSON,
                required[8], optional[2], optional[3], exchangeSize, exchangeEntry, ProjectionValue.bool(discrepancy), fills,
                reason, version, time, String(e.globalPosition)]
    }

    /// The text of a JSON integer as `String(Int)` prints it.
    static func integer(_ v: JSONDocument.Value?) -> String? {
        guard let v, v.kind == .number, let text = v.numberText, let n = Int(text) else { return nil }
        return String(n)
    }

    /// An optional decimal: nil when missing or null (`.some(nil)`), nil (unsupported) for another kind.
    static func number(_ v: JSONDocument.Value?) -> String?? {
        guard let v, v.kind != .null else { return .some(nil) }
        guard v.kind == .number, let text = v.numberText else { return nil }
        return .some(text)
    }
}

/// The members of a stored object, found by their keys' bytes where they sit (no key strings,
/// no dictionary): a position update has about thirty, read once each.
struct StoredMembers {
    let document: JSONDocument
    /// The tape index of each member's key, in source order.
    private var keys: [Int] = []

    /// Nil for another kind, an escaped key or a repeated key.
    init?(_ v: JSONDocument.Value) {
        guard v.kind == .object else { return nil }
        document = v.document
        keys.reserveCapacity(v.count)
        let nodes = document.nodes
        var k = v.index + 1
        for _ in 0..<v.count {
            guard nodes[k].flags & JSONNode.escaped == 0 else { return nil }
            for earlier in keys where Self.equal(nodes[earlier], nodes[k], in: document.bytes) { return nil }
            keys.append(k)
            k = Int(nodes[k + 1].next)
        }
    }

    private static func equal(_ a: JSONNode, _ b: JSONNode, in bytes: [UInt8]) -> Bool {
        guard a.end - a.start == b.end - b.start else { return false }
        return bytes[Int(a.start)..<Int(a.end)].elementsEqual(bytes[Int(b.start)..<Int(b.end)])
    }

    subscript(name: StaticString) -> JSONDocument.Value? {
        let wanted = UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
        return document.bytes.withUnsafeBytes { bytes -> JSONDocument.Value? in
            for k in keys {
                let n = document.nodes[k]
                guard Int(n.end - n.start) == wanted.count,
                      UnsafeRawBufferPointer(rebasing: bytes[Int(n.start)..<Int(n.end)]).elementsEqual(wanted) else { continue }
                return JSONDocument.Value(document: document, index: k + 1)
            }
            return nil
        }
    }
}
