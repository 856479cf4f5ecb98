import Foundation

/// GET parameters. `encoded` is built once, keys sorted, and is both what is signed and what
/// is sent (reference §2.2: sign exactly the bytes you send).
public struct RESTQuery: Sendable, Hashable {
    public private(set) var items: [String: String] = [:]

    public init() {}

    public init(_ items: [String: String]) { self.items = items }

    /// Sets `key`; nil leaves it out.
    public mutating func set(_ key: String, _ value: String?) {
        if let value { items[key] = value }
    }

    public mutating func set(_ key: String, _ value: Int?) { set(key, value.map { String($0) }) }
    public mutating func set(_ key: String, _ value: Int64?) { set(key, value.map { String($0) }) }

    /// `a=1&b=2` with keys in byte order. Values are escaped except for characters Bybit's
    /// own clients send raw; `%` passes through because cursors arrive already
    /// percent-encoded and must be sent back verbatim.
    public var encoded: String {
        items.keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
            .map { "\(Self.escape($0))=\(Self.escape(items[$0]!))" }
            .joined(separator: "&")
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            if isRaw(byte) {
                out.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                out += "%" + String(byte >> 4, radix: 16, uppercase: true) + String(byte & 0xf, radix: 16, uppercase: true)
            }
        }
        return out
    }

    private static func isRaw(_ b: UInt8) -> Bool {
        switch b {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"),
             UInt8(ascii: ","), UInt8(ascii: "%"), UInt8(ascii: ":"):
            return true
        default:
            return false
        }
    }
}

/// A POST body as ordered fields; `encoded` is compact JSON with the keys in insertion
/// order, built once, signed and sent unchanged.
public struct RESTJSONBody: Sendable, Hashable {
    /// Field values Bybit bodies use. Decimals travel as strings.
    public enum Value: Sendable, Hashable {
        case string(String)
        case decimal(Decimal)
        case int(Int)
        case bool(Bool)
    }

    public struct Field: Sendable, Hashable {
        public let key: String
        public let value: Value
    }

    public private(set) var fields: [Field] = []

    public init() {}

    /// Appends `key`, replacing an earlier value in place (keeps the order stable); nil is skipped.
    public mutating func set(_ key: String, _ value: Value?) {
        guard let value else { return }
        if let i = fields.firstIndex(where: { $0.key == key }) {
            fields[i] = Field(key: key, value: value)
        } else {
            fields.append(Field(key: key, value: value))
        }
    }

    public mutating func set(_ key: String, _ value: String?) { set(key, value.map(Value.string)) }
    public mutating func set(_ key: String, _ value: Decimal?) { set(key, value.map(Value.decimal)) }
    public mutating func set(_ key: String, _ value: Int?) { set(key, value.map(Value.int)) }
    public mutating func set(_ key: String, _ value: Bool?) { set(key, value.map(Value.bool)) }

    public subscript(key: String) -> Value? { fields.first { $0.key == key }?.value }

    /// Compact JSON: `{"category":"linear","symbol":"BTCUSDT"}`.
    public var encoded: String {
        var out = "{"
        for (i, field) in fields.enumerated() {
            if i > 0 { out += "," }
            out += Self.quoted(field.key) + ":"
            switch field.value {
            case .string(let s): out += Self.quoted(s)
            case .decimal(let d): out += Self.quoted(RESTNumberParsing.text(d))
            case .int(let n): out += String(n)
            case .bool(let b): out += b ? "true" : "false"
            }
        }
        return out + "}"
    }

    static func quoted(_ s: String) -> String {
        var out = "\""
        for scalar in s.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }
}
