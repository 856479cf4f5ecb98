import Foundation

// Property wrappers that give REST models Bybit's wire conventions in both directions:
// numbers travel as strings, `""` means "absent", millisecond times are strings in some
// places and numbers in others. Decoding accepts both string and number forms; encoding
// writes the string form Bybit uses, so a model round-trips through its own JSON shape.

/// A required decimal sent as a string (`"0.001"`); a JSON number is accepted too.
@propertyWrapper
public struct RESTDecimal: Codable, Sendable, Hashable {
    public var wrappedValue: Decimal

    public init(wrappedValue: Decimal) { self.wrappedValue = wrappedValue }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        guard let value = try RESTFieldDecoding.decimal(c) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected a decimal, got an empty value")
        }
        wrappedValue = value
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(RESTNumberParsing.text(wrappedValue))
    }
}

/// An optional decimal: `""`, `null` and a missing key all decode as nil; nil encodes as `""`.
@propertyWrapper
public struct RESTOptionalDecimal: Codable, Sendable, Hashable {
    public var wrappedValue: Decimal?

    public init(wrappedValue: Decimal?) { self.wrappedValue = wrappedValue }

    public init(from decoder: Decoder) throws {
        wrappedValue = try RESTFieldDecoding.decimal(try decoder.singleValueContainer())
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(wrappedValue.map(RESTNumberParsing.text) ?? "")
    }
}

/// A required integer (milliseconds, sequence numbers) sent as a string or a number.
@propertyWrapper
public struct RESTInt64: Codable, Sendable, Hashable {
    public var wrappedValue: Int64

    public init(wrappedValue: Int64) { self.wrappedValue = wrappedValue }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        guard let value = try RESTFieldDecoding.int64(c) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "expected an integer, got an empty value")
        }
        wrappedValue = value
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(String(wrappedValue))
    }
}

/// An optional integer: `""`, `null` and a missing key decode as nil; nil encodes as `""`.
@propertyWrapper
public struct RESTOptionalInt64: Codable, Sendable, Hashable {
    public var wrappedValue: Int64?

    public init(wrappedValue: Int64?) { self.wrappedValue = wrappedValue }

    public init(from decoder: Decoder) throws {
        wrappedValue = try RESTFieldDecoding.int64(try decoder.singleValueContainer())
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(wrappedValue.map { String($0) } ?? "")
    }
}

/// Internal helpers shared by the wrappers and the hand-written decoders.
enum RESTFieldDecoding {
    /// A decimal from `"1.5"`, `1.5`, `""` (nil) or `null` (nil).
    static func decimal(_ c: SingleValueDecodingContainer) throws -> Decimal? {
        if c.decodeNil() { return nil }
        if let text = try? c.decode(String.self) {
            if text.isEmpty { return nil }
            guard let value = RESTNumberParsing.decimal(text) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a decimal: \"\(text)\"")
            }
            return value
        }
        // A JSON number: go through its integer form when exact, to avoid Double rounding.
        if let i = try? c.decode(Int64.self) { return Decimal(i) }
        let d = try c.decode(Double.self)
        guard let value = RESTNumberParsing.decimal(String(d)) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a decimal: \(d)")
        }
        return value
    }

    /// An integer from `"123"`, `123`, `""` (nil) or `null` (nil).
    static func int64(_ c: SingleValueDecodingContainer) throws -> Int64? {
        if c.decodeNil() { return nil }
        if let i = try? c.decode(Int64.self) { return i }
        let text = try c.decode(String.self)
        if text.isEmpty { return nil }
        guard let value = RESTNumberParsing.int64(text) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "not an integer: \"\(text)\"")
        }
        return value
    }
}

// Synthesized `init(from:)` calls `decode(_:forKey:)` for wrapped properties, which throws
// on a missing key; these overloads make the optional wrappers tolerate absent fields.
extension KeyedDecodingContainer {
    public func decode(_ type: RESTOptionalDecimal.Type, forKey key: Key) throws -> RESTOptionalDecimal {
        try decodeIfPresent(type, forKey: key) ?? RESTOptionalDecimal(wrappedValue: nil)
    }

    public func decode(_ type: RESTOptionalInt64.Type, forKey key: Key) throws -> RESTOptionalInt64 {
        try decodeIfPresent(type, forKey: key) ?? RESTOptionalInt64(wrappedValue: nil)
    }
}
