import Foundation

/// A `Decimal` stored in JSON as a canonical decimal string (`"0.5"`), as the decoders
/// write it: prices never pass through a JSON number (and so never through `Double`).
/// Decoding also accepts a JSON number.
@propertyWrapper
public struct DecimalString: Codable, Hashable, Sendable {
    public var wrappedValue: Decimal

    public init(wrappedValue: Decimal) { self.wrappedValue = wrappedValue }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let text = try? c.decode(String.self) {
            guard let value = DecimalText.decimal(text) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a decimal: \"\(text)\"")
            }
            wrappedValue = value
        } else {
            wrappedValue = try c.decode(Decimal.self)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(DecimalText.text(wrappedValue))
    }
}

/// An optional `Decimal` stored as a canonical decimal string; a missing key, `null` or
/// `""` decode as nil, and nil is left out when encoding.
@propertyWrapper
public struct OptionalDecimalString: Codable, Hashable, Sendable {
    public var wrappedValue: Decimal?

    public init(wrappedValue: Decimal?) { self.wrappedValue = wrappedValue }

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() {
            wrappedValue = nil
        } else if let text = try? c.decode(String.self) {
            if text.isEmpty {
                wrappedValue = nil
                return
            }
            guard let value = DecimalText.decimal(text) else {
                throw DecodingError.dataCorruptedError(in: c, debugDescription: "not a decimal: \"\(text)\"")
            }
            wrappedValue = value
        } else {
            wrappedValue = try c.decode(Decimal.self)
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        if let v = wrappedValue { try c.encode(DecimalText.text(v)) } else { try c.encodeNil() }
    }
}

extension KeyedDecodingContainer {
    /// A missing key is nil (synthesized `Codable` would otherwise require the key).
    public func decode(_ type: OptionalDecimalString.Type, forKey key: Key) throws -> OptionalDecimalString {
        try decodeIfPresent(type, forKey: key) ?? OptionalDecimalString(wrappedValue: nil)
    }
}

extension KeyedEncodingContainer {
    /// nil leaves the key out, as the decoders do.
    public mutating func encode(_ value: OptionalDecimalString, forKey key: Key) throws {
        if let v = value.wrappedValue { try encode(DecimalText.text(v), forKey: key) }
    }
}
