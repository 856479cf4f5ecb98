import CLibPQ
import Foundation

/// A query result, owned by the connection's thread; read it there and copy out what you need.
///
/// Text-format results are read with ``string(_:_:)``; binary-format results (``PGConnection/query(_:_:binary:)``
/// with `binary: true`) with the typed readers, which decode PostgreSQL's wire formats directly.
public final class PGResult {
    let raw: OpaquePointer

    init(_ raw: OpaquePointer) { self.raw = raw }
    deinit { PQclear(raw) }

    public var rowCount: Int { Int(PQntuples(raw)) }
    public var columnCount: Int { Int(PQnfields(raw)) }

    /// Rows changed by INSERT/UPDATE/DELETE, from the command tag.
    public var affectedRows: Int { Int(String(cString: PQcmdTuples(raw))) ?? 0 }

    public func isNull(_ row: Int, _ column: Int) -> Bool {
        PQgetisnull(raw, Int32(row), Int32(column)) == 1
    }

    public func string(_ row: Int, _ column: Int) -> String? {
        if isNull(row, column) { return nil }
        let len = Int(PQgetlength(raw, Int32(row), Int32(column)))
        let p = UnsafeRawPointer(PQgetvalue(raw, Int32(row), Int32(column))!)
        return String(decoding: UnsafeRawBufferPointer(start: p, count: len), as: UTF8.self)
    }

    /// Text-format integer.
    public func int(_ row: Int, _ column: Int) -> Int64? {
        string(row, column).flatMap { Int64($0) }
    }

    // MARK: binary format

    @inline(__always)
    func bytes(_ row: Int, _ column: Int) -> UnsafeRawBufferPointer? {
        if isNull(row, column) { return nil }
        let len = Int(PQgetlength(raw, Int32(row), Int32(column)))
        return UnsafeRawBufferPointer(start: UnsafeRawPointer(PQgetvalue(raw, Int32(row), Int32(column))!), count: len)
    }

    /// Binary `int8`.
    public func binaryInt64(_ row: Int, _ column: Int) -> Int64? {
        guard let b = bytes(row, column), b.count == 8 else { return nil }
        return Int64(bigEndian: b.loadUnaligned(as: Int64.self))
    }

    /// Binary `int4`.
    public func binaryInt32(_ row: Int, _ column: Int) -> Int32? {
        guard let b = bytes(row, column), b.count == 4 else { return nil }
        return Int32(bigEndian: b.loadUnaligned(as: Int32.self))
    }

    /// Binary `text`/`varchar`.
    public func binaryString(_ row: Int, _ column: Int) -> String? {
        bytes(row, column).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Binary `uuid`.
    public func binaryUUID(_ row: Int, _ column: Int) -> UUID? {
        guard let b = bytes(row, column), b.count == 16 else { return nil }
        return UUID(uuid: (b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
                           b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]))
    }

    /// Binary `timestamptz` as microseconds since the Unix epoch.
    public func binaryTimestampMicros(_ row: Int, _ column: Int) -> Int64? {
        binaryInt64(row, column).map { $0 + PGBinary.postgresEpochOffsetMicros }
    }

    /// Binary `jsonb` as its JSON text bytes (the version byte stripped).
    public func binaryJSONB(_ row: Int, _ column: Int) -> [UInt8]? {
        guard let b = bytes(row, column), b.count >= 1 else { return nil }
        return Array(UnsafeRawBufferPointer(rebasing: b[1...]))
    }
}

/// Helpers for PostgreSQL's binary formats.
public enum PGBinary {
    /// Microseconds between 1970-01-01 and PostgreSQL's epoch, 2000-01-01.
    public static let postgresEpochOffsetMicros: Int64 = 946_684_800_000_000
}

/// A statement parameter: text (NULL when nil) or a value in PostgreSQL's binary format.
public enum PGParameter: Sendable {
    case text(String?)
    case binary([UInt8])

    /// A `uuid[]` in binary format (16 bytes an element instead of 36 characters to parse).
    public static func uuidArray(_ ids: [UUID]) -> PGParameter {
        var out: [UInt8] = []
        out.reserveCapacity(20 + ids.count * 20)
        func int32(_ v: Int32) { withUnsafeBytes(of: v.bigEndian) { out.append(contentsOf: $0) } }
        int32(1)                 // dimensions
        int32(0)                 // no NULLs
        int32(2950)              // element type: uuid
        int32(Int32(ids.count))  // length of the dimension
        int32(1)                 // lower bound
        for id in ids {
            int32(16)
            withUnsafeBytes(of: id.uuid) { out.append(contentsOf: $0) }
        }
        return .binary(out)
    }
}

/// A notification delivered by `LISTEN`.
public struct PGNotification: Sendable, Equatable {
    public var channel: String
    public var payload: String
    public var senderPID: Int32
}

/// Builds PostgreSQL array literals for text-format parameters (`{"a","b"}`).
public enum PGArrayLiteral {
    /// Text array with NULL elements for nil.
    public static func optionalText<S: Sequence>(_ values: S) -> String where S.Element == String? {
        var out = "{"
        var first = true
        for v in values {
            if !first { out += "," }
            first = false
            guard let v else {
                out += "NULL"
                continue
            }
            out += "\""
            for ch in v.unicodeScalars {
                if ch == "\"" || ch == "\\" { out += "\\" }
                out.unicodeScalars.append(ch)
            }
            out += "\""
        }
        return out + "}"
    }

    public static func text<S: Sequence>(_ values: S) -> String where S.Element == String {
        optionalText(values.lazy.map { Optional($0) })
    }

    public static func int64<S: Sequence>(_ values: S) -> String where S.Element == Int64 {
        "{" + values.map(String.init).joined(separator: ",") + "}"
    }

    public static func optionalInt64<S: Sequence>(_ values: S) -> String where S.Element == Int64? {
        "{" + values.map { $0.map(String.init) ?? "NULL" }.joined(separator: ",") + "}"
    }
}
