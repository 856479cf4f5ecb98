import Foundation

/// Any JSON value, for upcasters and canonical re-encoding.
///
/// Numbers are `Decimal`, so `1.50` and `1.5` are the same value and prices never pass
/// through binary floating point.
public enum JSONValue: Hashable, Sendable, Codable {
    case null
    case bool(Bool)
    case number(Decimal)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            self = .null
        } else if let b = try? c.decode(Bool.self) {
            self = .bool(b)
        } else if let d = try? c.decode(Decimal.self) {
            self = .number(d)
        } else if let s = try? c.decode(String.self) {
            self = .string(s)
        } else if let a = try? c.decode([JSONValue].self) {
            self = .array(a)
        } else {
            self = .object(try c.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .null: try c.encodeNil()
        case .bool(let b): try c.encode(b)
        case .number(let d): try c.encode(d)
        case .string(let s): try c.encode(s)
        case .array(let a): try c.encode(a)
        case .object(let o): try c.encode(o)
        }
    }

    public static func parse(_ data: Data) throws -> JSONValue {
        try CanonicalJSON.decoder.decode(JSONValue.self, from: data)
    }

    public subscript(key: String) -> JSONValue? {
        if case .object(let o) = self { return o[key] }
        return nil
    }
}

/// The one JSON form used for event data and digests: keys sorted, no insignificant
/// whitespace, slashes unescaped.
public enum CanonicalJSON {
    /// Shared: `JSONEncoder` and `JSONDecoder` are safe to use from several tasks, and one
    /// made per use costs as much as encoding a small event.
    public static let encoder: JSONEncoder = {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }()

    public static let decoder = JSONDecoder()

    /// Re-encodes any JSON text in canonical form, so that equal values give equal bytes
    /// whatever key order or spacing they were stored with.
    public static func canonicalize(_ bytes: [UInt8]) throws -> [UInt8] {
        Array(try encoder.encode(try JSONValue.parse(Data(bytes))))
    }
}

/// A digest over an ordered run of events: SHA-256 of each event's stream, type and
/// canonical data (DESIGN invariant 5). Positions, ids and wall-clock times are left out
/// so that a replay into a fresh log gives the same digest.
public struct LogDigest: ~Copyable {
    private var hasher = Hasher256(.sha256)
    public private(set) var count = 0

    public init() {}

    public mutating func add(stream: String, type: String, data: [UInt8]) throws {
        let canonical = try CanonicalJSON.canonicalize(data)
        hasher.update(stream)
        hasher.update([0])
        hasher.update(type)
        hasher.update([0])
        hasher.update(canonical)
        hasher.update([0x0a])
        count += 1
    }

    public mutating func add(_ event: RecordedEvent) throws {
        try add(stream: event.stream, type: event.type, data: event.data)
    }

    public consuming func hexDigest() -> String {
        Digest.hex(hasher.finish())
    }
}
