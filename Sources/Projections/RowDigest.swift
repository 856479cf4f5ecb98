import EventLog
import Foundation
import PostgresClient
import TradelogCore

/// A projection's row count and the SHA-256 (hex) of its canonical text.
public struct RowDigest: Sendable, Equatable, CustomStringConvertible {
    public var count: Int
    public var hex: String

    public init(count: Int, hex: String) {
        self.count = count
        self.hex = hex
    }

    public var description: String { "\(count) rows, sha256 \(hex)" }
}

/// The canonical text of a projection's rows and its digest, computed the same way from
/// in-memory rows and from a PostgreSQL table.
///
/// The text is a header line `NAME col1 col2 ...\n` (the digested columns, tab-separated),
/// then one line per row, rows sorted by primary key (text keys by UTF-8 bytes, integer keys
/// numerically), values tab-separated, each in one form:
/// - NULL: `\N`;
/// - text: as stored, with `\` `TAB` `LF` `CR` written `\\` `\t` `\n` `\r`;
/// - numeric: its decimal text without trailing fractional zeros (`1.50` → `1.5`, `-0` → `0`);
/// - bigint, integer: decimal; boolean: `t` or `f`;
/// - timestamptz: microseconds since the Unix epoch, decimal;
/// - jsonb: the value in canonical JSON (sorted keys, no spaces), escaped like text.
///
/// Columns holding log positions (`first_position`, `last_position`, `created_position`,
/// `updated_position`, `position`, `global_position`) are left out, so that a session's
/// digest does not depend on where in a log it lands (they still order rows whose key
/// contains one, which keeps their relative order).
public enum RowDigests {
    /// The columns that are digested.
    public static func digestedColumns(_ spec: ProjectionSpec) -> [Int] {
        spec.columns.indices.filter { !spec.columns[$0].isLogPosition }
    }

    /// The rows sorted by primary key.
    public static func sorted(_ spec: ProjectionSpec, _ rows: [ProjectionRow]) -> [ProjectionRow] {
        let keys = spec.keyIndexes.map { ($0, spec.columns[$0].type) }
        let decorated = rows.map { row in (row, keys.map { sortKey(row[$0.0], $0.1) }) }
        return decorated.sorted { a, b in
            for (x, y) in zip(a.1, b.1) where x != y { return x < y }
            return false
        }.map(\.0)
    }

    /// The digest of rows (any order: they are sorted here).
    public static func digest(_ spec: ProjectionSpec, rows: [ProjectionRow]) -> RowDigest {
        var hasher = Hasher256(.sha256)
        hasher.update(header(spec))
        let columns = digestedColumns(spec)
        for row in sorted(spec, rows) { hasher.update(line(spec, row, columns)) }
        return RowDigest(count: rows.count, hex: Digest.hex(hasher.finish()))
    }

    /// The canonical text itself (for debugging differences).
    public static func canonicalText(_ spec: ProjectionSpec, rows: [ProjectionRow]) -> String {
        let columns = digestedColumns(spec)
        return header(spec) + sorted(spec, rows).map { line(spec, $0, columns) }.joined()
    }

    /// The rows of a table (or view) holding `spec`'s columns, in the rows' text forms.
    public static func rows(_ spec: ProjectionSpec, table: String, on conn: isolated PGConnection) throws -> [ProjectionRow] {
        let exprs = spec.columns.map { c -> String in
            let n = PGConnection.quoteIdentifier(c.name)
            switch c.type {
            case .timestamptz: return "(extract(epoch FROM \(n)) * 1000000)::bigint"
            case .jsonb: return "\(n)::text"
            default: return n
            }
        }
        let sql = "SELECT \(exprs.joined(separator: ", ")) FROM \(PGConnection.quoteIdentifier(table))"
        let width = spec.columns.count
        return try conn.withTransaction { tx in
            try tx.execute("DECLARE tl_digest NO SCROLL CURSOR FOR \(sql)")
            var out: [ProjectionRow] = []
            while true {
                let r = try tx.query("FETCH 20000 FROM tl_digest")
                if r.rowCount == 0 { break }
                for i in 0..<r.rowCount { out.append((0..<width).map { r.string(i, $0) }) }
            }
            return out
        }
    }

    /// The digest of a PostgreSQL table (or the view users query) with `spec`'s columns.
    public static func digest(_ spec: ProjectionSpec, table: String, on conn: isolated PGConnection) throws -> RowDigest {
        digest(spec, rows: try rows(spec, table: table, on: conn))
    }

    // MARK: canonical forms

    static func header(_ spec: ProjectionSpec) -> String {
        ([spec.name] + digestedColumns(spec).map { spec.columns[$0].name }).joined(separator: "\t") + "\n"
    }

    static func line(_ spec: ProjectionSpec, _ row: ProjectionRow, _ columns: [Int]) -> String {
        columns.map { canonical(row[$0], spec.columns[$0].type) }.joined(separator: "\t") + "\n"
    }

    /// One value's canonical text.
    public static func canonical(_ value: String?, _ type: ProjectionColumnType) -> String {
        guard let value else { return "\\N" }
        switch type {
        case .text: return escape(value)
        case .numeric: return normalizeDecimal(value)
        case .bigint, .integer, .timestamptz: return Int64(value).map(String.init) ?? escape(value)
        case .boolean: return value == "t" || value == "true" ? "t" : (value == "f" || value == "false" ? "f" : escape(value))
        case .jsonb:
            guard let c = try? CanonicalJSON.canonicalize(Array(value.utf8)) else { return escape(value) }
            return escape(String(decoding: c, as: UTF8.self))
        }
    }

    /// Decimal text without trailing fractional zeros; negative zero is `0`.
    public static func normalizeDecimal(_ text: String) -> String {
        var s = Substring(text)
        if s.hasPrefix("+") { s = s.dropFirst() }
        if s.contains(".") {
            while s.hasSuffix("0") { s = s.dropLast() }
            if s.hasSuffix(".") { s = s.dropLast() }
        }
        if s.isEmpty || s == "-" || s.allSatisfy({ $0 == "0" || $0 == "-" }) { return "0" }
        return String(s)
    }

    static func escape(_ s: String) -> String {
        guard s.utf8.contains(where: { $0 == 0x5C || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) else { return s }
        var out = ""
        for ch in s.unicodeScalars {
            switch ch {
            case "\\": out += "\\\\"
            case "\t": out += "\\t"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    enum SortKey: Comparable {
        case null
        case int(Int64)
        case bytes([UInt8])

        static func < (a: SortKey, b: SortKey) -> Bool {
            switch (a, b) {
            case (.null, .null): false
            case (.null, _): true
            case (_, .null): false
            case (.int(let x), .int(let y)): x < y
            case (.bytes(let x), .bytes(let y)): x.lexicographicallyPrecedes(y)
            case (.int, .bytes): true
            case (.bytes, .int): false
            }
        }
    }

    static func sortKey(_ v: String?, _ type: ProjectionColumnType) -> SortKey {
        guard let v else { return .null }
        switch type {
        case .bigint, .integer, .timestamptz: return Int64(v).map(SortKey.int) ?? .bytes(Array(v.utf8))
        default: return .bytes(Array(v.utf8))
        }
    }
}
