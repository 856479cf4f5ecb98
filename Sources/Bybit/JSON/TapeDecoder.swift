import Foundation
import TradelogCore

/// `Decodable` values read from stored event data over the tape parser, for the payloads a
/// replay reads often (the exchange's order, execution, position and wallet events), where
/// `JSONDecoder` builds a dictionary of key strings for every object.
///
/// It reads only a plain subset: objects with ASCII keys and no repeated key, arrays, `null`,
/// booleans, strings without escapes (valid UTF-8), integers written as digits, decimals
/// written without an exponent in at most 38 digits. Anything else, and any error its
/// containers throw (a missing key, a type mismatch), makes the whole read nil, even when the
/// value's own decoder catches the error and recovers; the caller then decodes with
/// `JSONDecoder`. So a value read here is the value `JSONDecoder` reads from the same bytes:
/// in the subset both hand the value's code the same keys and values (a `Decimal` is what
/// `Decimal(string:)` reads from the number's text, as `JSONDecoder` reads it), so whatever
/// that code does with them, it does under both. `Date`, `Data`, `URL` and floating-point
/// numbers (which `JSONDecoder` treats in its own ways) are outside it.
public enum TapeDecoder {
    /// The value, or nil when the data is outside the subset or does not decode.
    public static func decode<T: Decodable>(_ type: T.Type, from data: [UInt8]) -> T? {
        StoredJSON.withValue(data) { view -> T? in
            let state = TapeDecodingState(view: view)
            // The tape lives only inside this call: a decoder or container a value kept would trap.
            defer { state.live = false }
            guard let value = try? state.value(T.self, at: 0), !state.failed else { return nil }
            return value
        }
    }

    /// `TapeDecoder`, else `CanonicalJSON.decoder` (whose error is the one thrown).
    public static func decodeOrFallBack<T: Decodable>(_ type: T.Type, from data: [UInt8]) throws -> T {
        if let value = decode(type, from: data) { return value }
        return try CanonicalJSON.decoder.decode(type, from: Data(data))
    }
}

/// Why the tape decoder gave up (never surfaces: the caller falls back to `JSONDecoder`).
struct TapeDecodingUnsupported: Error {}

/// One read: the parsed tape, and whether anything failed along the way (caught or not).
final class TapeDecodingState {
    private let tape: JSONView
    var failed = false
    var live = true

    init(view: JSONView) { tape = view }

    var view: JSONView {
        precondition(live, "a Decodable kept the tape decoder past the read")
        return tape
    }

    func fail() -> TapeDecodingUnsupported {
        failed = true
        return TapeDecodingUnsupported()
    }

    func value<T: Decodable>(_ type: T.Type, at node: Int) throws -> T {
        // Types `JSONDecoder` reads in its own ways: a decimal from a plain number as
        // `Decimal(string:)` reads its text (the same value and representation), the others not at all.
        if T.self == Decimal.self { return try decimal(node) as! T }
        if T.self == Date.self || T.self == Data.self || T.self == URL.self { throw fail() }
        if T.self == String.self { return try string(node) as! T }
        if T.self == Int.self { return try integer(Int.self, node) as! T }
        if T.self == Int64.self { return try integer(Int64.self, node) as! T }
        if T.self == Bool.self { return try bool(node) as! T }
        return try T(from: TapeValueDecoder(state: self, node: node))
    }

    func string(_ i: Int) throws -> String {
        let n = view.node(i)
        guard n.kind == .string, n.flags & JSONNode.escaped == 0 else { throw fail() }
        let raw = view.raw(i)
        if n.flags & JSONNode.nonASCII == 0 { return String(decoding: raw, as: UTF8.self) }
        guard let s = String(validating: raw, as: UTF8.self) else { throw fail() }
        return s
    }

    func bool(_ i: Int) throws -> Bool {
        switch view.kind(i) {
        case .true: return true
        case .false: return false
        default: throw fail()
        }
    }

    func integer<I: FixedWidthInteger>(_ type: I.Type, _ i: Int) throws -> I {
        guard view.kind(i) == .number, let v = parseInt64(view.raw(i)), let x = I(exactly: v) else { throw fail() }
        return x
    }

    /// A JSON number without an exponent and with at most 38 digits (what a `Decimal` holds
    /// exactly), read as `JSONDecoder` reads it into a `Decimal`.
    func decimal(_ i: Int) throws -> Decimal {
        guard view.kind(i) == .number else { throw fail() }
        let raw = view.raw(i)
        var digits = 0
        for b in raw {
            if b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") {
                digits += 1
            } else if b != UInt8(ascii: "-") && b != UInt8(ascii: ".") {
                throw fail()
            }
        }
        guard digits <= 38, let d = Decimal(string: String(decoding: raw, as: UTF8.self)), !d.isNaN else { throw fail() }
        return d
    }

    func isNull(_ i: Int) -> Bool { view.kind(i) == .null }
}

/// The `Decoder` of one value on the tape.
struct TapeValueDecoder: Decoder {
    let state: TapeDecodingState
    let node: Int
    var codingPath: [any CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(try TapeKeyedContainer<Key>(state: state, object: node))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try TapeUnkeyedContainer(state: state, array: node)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        TapeSingleValueContainer(state: state, node: node)
    }
}

struct TapeKeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let state: TapeDecodingState
    /// The members' key nodes, in the data's order.
    let keys: [Int]
    /// Whether the keys are in strictly ascending byte order (canonical data): found by bisection.
    let ascending: Bool
    var codingPath: [any CodingKey] { [] }

    init(state: TapeDecodingState, object: Int) throws {
        let v = state.view
        guard v.kind(object) == .object else { throw state.fail() }
        self.state = state
        var keys: [Int] = []
        keys.reserveCapacity(v.count(object))
        var k = object + 1
        for _ in 0..<v.count(object) {
            // Keys are matched by their bytes; JSONDecoder matches them as Strings (canonical
            // equivalence), so an escaped or non-ASCII key is left to it.
            guard v.node(k).flags == 0 else { throw state.fail() }
            keys.append(k)
            k = v.next(k + 1)
        }
        var ascending = true
        for n in keys.indices.dropFirst() where compareBytes(v.raw(keys[n - 1]), v.raw(keys[n])) >= 0 {
            ascending = false
            break
        }
        if !ascending {
            // Out of order: a repeated key (which JSONDecoder resolves its own way) gives up.
            let sorted = keys.sorted { compareBytes(v.raw($0), v.raw($1)) < 0 }
            for n in sorted.indices.dropFirst() where compareBytes(v.raw(sorted[n - 1]), v.raw(sorted[n])) == 0 {
                throw state.fail()
            }
        }
        self.keys = keys
        self.ascending = ascending
    }

    /// The value node of `key`, or nil when the object does not have it.
    func find(_ key: Key) -> Int? {
        var name = key.stringValue
        let v = state.view
        return name.withUTF8 { wanted -> Int? in
            let w = UnsafeRawBufferPointer(wanted)
            // A non-ASCII name could equal an ASCII key as a String (U+212A is "K"): left to JSONDecoder.
            guard w.allSatisfy({ $0 < 0x80 }) else {
                state.failed = true
                return nil
            }
            if ascending {
                var lo = 0, hi = keys.count
                while lo < hi {
                    let mid = (lo + hi) / 2
                    let c = compareBytes(v.raw(keys[mid]), w)
                    if c == 0 { return keys[mid] + 1 }
                    if c < 0 { lo = mid + 1 } else { hi = mid }
                }
                return nil
            }
            for k in keys where compareBytes(v.raw(k), w) == 0 { return k + 1 }
            return nil
        }
    }

    func required(_ key: Key) throws -> Int {
        guard let node = find(key) else { throw state.fail() }
        return node
    }

    var allKeys: [Key] {
        keys.compactMap { k in (try? state.string(k)).flatMap { Key(stringValue: $0) } }
    }

    func contains(_ key: Key) -> Bool { find(key) != nil }

    func decodeNil(forKey key: Key) throws -> Bool { state.isNull(try required(key)) }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try state.bool(try required(key)) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try state.string(try required(key)) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { throw state.fail() }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { throw state.fail() }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try state.integer(type, try required(key)) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try state.integer(type, try required(key)) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try state.integer(type, try required(key)) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try state.integer(type, try required(key)) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try state.integer(type, try required(key)) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try state.integer(type, try required(key)) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try state.integer(type, try required(key)) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try state.integer(type, try required(key)) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try state.integer(type, try required(key)) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try state.integer(type, try required(key)) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try state.value(type, at: try required(key)) }

    // Absent or null is nil (as JSONDecoder reads it), with one lookup.
    func decodeIfPresent(_ type: String.Type, forKey key: Key) throws -> String? {
        guard let node = find(key), !state.isNull(node) else { return nil }
        return try state.string(node)
    }
    func decodeIfPresent(_ type: Bool.Type, forKey key: Key) throws -> Bool? {
        guard let node = find(key), !state.isNull(node) else { return nil }
        return try state.bool(node)
    }
    func decodeIfPresent(_ type: Int.Type, forKey key: Key) throws -> Int? {
        guard let node = find(key), !state.isNull(node) else { return nil }
        return try state.integer(type, node)
    }
    func decodeIfPresent(_ type: Int64.Type, forKey key: Key) throws -> Int64? {
        guard let node = find(key), !state.isNull(node) else { return nil }
        return try state.integer(type, node)
    }
    func decodeIfPresent<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T? {
        guard let node = find(key), !state.isNull(node) else { return nil }
        return try state.value(type, at: node)
    }

    func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws
        -> KeyedDecodingContainer<NestedKey> {
        KeyedDecodingContainer(try TapeKeyedContainer<NestedKey>(state: state, object: try required(key)))
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try TapeUnkeyedContainer(state: state, array: try required(key))
    }

    func superDecoder() throws -> any Decoder { throw state.fail() }
    func superDecoder(forKey key: Key) throws -> any Decoder { throw state.fail() }
}

struct TapeUnkeyedContainer: UnkeyedDecodingContainer {
    let state: TapeDecodingState
    let count: Int?
    private(set) var currentIndex = 0
    /// The tape index of the element at `currentIndex`.
    private var cursor: Int
    var codingPath: [any CodingKey] { [] }
    var isAtEnd: Bool { currentIndex >= count! }

    init(state: TapeDecodingState, array: Int) throws {
        guard state.view.kind(array) == .array else { throw state.fail() }
        self.state = state
        count = state.view.count(array)
        cursor = array + 1
    }

    /// The current element's node, moving past it.
    private mutating func take() throws -> Int {
        guard !isAtEnd else { throw state.fail() }
        let node = cursor
        cursor = state.view.next(cursor)
        currentIndex += 1
        return node
    }

    mutating func decodeNil() throws -> Bool {
        guard !isAtEnd else { throw state.fail() }
        guard state.isNull(cursor) else { return false }
        _ = try take()
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try state.bool(try take()) }
    mutating func decode(_ type: String.Type) throws -> String { try state.string(try take()) }
    mutating func decode(_ type: Double.Type) throws -> Double { throw state.fail() }
    mutating func decode(_ type: Float.Type) throws -> Float { throw state.fail() }
    mutating func decode(_ type: Int.Type) throws -> Int { try state.integer(type, try take()) }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try state.integer(type, try take()) }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try state.integer(type, try take()) }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try state.integer(type, try take()) }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try state.integer(type, try take()) }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try state.integer(type, try take()) }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try state.integer(type, try take()) }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try state.integer(type, try take()) }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try state.integer(type, try take()) }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try state.integer(type, try take()) }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try state.value(type, at: try take()) }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        KeyedDecodingContainer(try TapeKeyedContainer<NestedKey>(state: state, object: try take()))
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try TapeUnkeyedContainer(state: state, array: try take())
    }

    mutating func superDecoder() throws -> any Decoder { throw state.fail() }
}

struct TapeSingleValueContainer: SingleValueDecodingContainer {
    let state: TapeDecodingState
    let node: Int
    var codingPath: [any CodingKey] { [] }

    func decodeNil() -> Bool { state.isNull(node) }
    func decode(_ type: Bool.Type) throws -> Bool { try state.bool(node) }
    func decode(_ type: String.Type) throws -> String { try state.string(node) }
    func decode(_ type: Double.Type) throws -> Double { throw state.fail() }
    func decode(_ type: Float.Type) throws -> Float { throw state.fail() }
    func decode(_ type: Int.Type) throws -> Int { try state.integer(type, node) }
    func decode(_ type: Int8.Type) throws -> Int8 { try state.integer(type, node) }
    func decode(_ type: Int16.Type) throws -> Int16 { try state.integer(type, node) }
    func decode(_ type: Int32.Type) throws -> Int32 { try state.integer(type, node) }
    func decode(_ type: Int64.Type) throws -> Int64 { try state.integer(type, node) }
    func decode(_ type: UInt.Type) throws -> UInt { try state.integer(type, node) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try state.integer(type, node) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try state.integer(type, node) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try state.integer(type, node) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try state.integer(type, node) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try state.value(type, at: node) }
}

/// A payload whose stored data is read by ``TapeDecoder`` before `JSONDecoder` (the registry
/// falls back to `JSONDecoder` when the tape decoder gives nil).
public protocol TapeDecodable: StoredDataDecodable {}

extension TapeDecodable {
    public static func decodeStored(_ data: [UInt8]) -> Self? { TapeDecoder.decode(Self.self, from: data) }
}

// The exchange's events: every order a replay or the order manager sends comes back as a few
// of them, each with dozens of fields.
extension ExchangeOrderUpdated: TapeDecodable {}
extension ExchangeExecution: TapeDecodable {}
extension ExchangeNonTradeExecution: TapeDecodable {}
extension ExchangePositionUpdated: TapeDecodable {}
extension ExchangeWalletUpdated: TapeDecodable {}
