/// A small order-preserving JSON reader for replayed frames: keeps object key order and the
/// exact text of numbers (Foundation's parser loses both).
public indirect enum JSONNode: Sendable, Equatable {
    case object([(String, JSONNode)])
    case array([JSONNode])
    case string(String)
    /// The number as written.
    case number(String)
    case bool(Bool)
    case null

    public static func == (a: JSONNode, b: JSONNode) -> Bool {
        switch (a, b) {
        case (.object(let x), .object(let y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case (.array(let x), .array(let y)): return x == y
        case (.string(let x), .string(let y)), (.number(let x), .number(let y)): return x == y
        case (.bool(let x), .bool(let y)): return x == y
        case (.null, .null): return true
        default: return false
        }
    }

    public subscript(key: String) -> JSONNode? {
        guard case .object(let fields) = self else { return nil }
        return fields.first { $0.0 == key }?.1
    }

    public var stringValue: String? {
        switch self {
        case .string(let s), .number(let s): return s
        default: return nil
        }
    }

    public var int64Value: Int64? {
        switch self {
        case .number(let s), .string(let s): return Int64(s)
        default: return nil
        }
    }

    public var arrayValue: [JSONNode]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var objectValue: [(String, JSONNode)]? {
        if case .object(let o) = self { return o }
        return nil
    }

    public static func parse(_ text: String) -> JSONNode? {
        var copy = text
        return copy.withUTF8 { buf in
            var p = Parser(bytes: buf)
            guard let v = p.value() else { return nil }
            p.skipSpace()
            return p.i == buf.count ? v : nil
        }
    }

    /// Writes the node back as compact JSON (numbers as written).
    public func write(to j: inout JSONOut) {
        switch self {
        case .object(let fields):
            j.openObject()
            for (k, v) in fields { j.key(k); v.write(to: &j) }
            j.closeObject()
        case .array(let items):
            j.openArray()
            for v in items { v.write(to: &j) }
            j.closeArray()
        case .string(let s): j.string(s)
        case .number(let s): j.rawValue(s)
        case .bool(let b): j.bool(b)
        case .null: j.null()
        }
    }

    struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        var i = 0

        init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

        mutating func skipSpace() {
            while i < bytes.count, bytes[i] == 32 || bytes[i] == 9 || bytes[i] == 10 || bytes[i] == 13 { i += 1 }
        }

        mutating func value() -> JSONNode? {
            skipSpace()
            guard i < bytes.count else { return nil }
            switch bytes[i] {
            case UInt8(ascii: "{"):
                i += 1
                var fields: [(String, JSONNode)] = []
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .object(fields) }
                while true {
                    skipSpace()
                    guard let k = string() else { return nil }
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { return nil }
                    i += 1
                    guard let v = value() else { return nil }
                    fields.append((k, v))
                    skipSpace()
                    guard i < bytes.count else { return nil }
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    if bytes[i] == UInt8(ascii: "}") { i += 1; return .object(fields) }
                    return nil
                }
            case UInt8(ascii: "["):
                i += 1
                var items: [JSONNode] = []
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                while true {
                    guard let v = value() else { return nil }
                    items.append(v)
                    skipSpace()
                    guard i < bytes.count else { return nil }
                    if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
                    if bytes[i] == UInt8(ascii: "]") { i += 1; return .array(items) }
                    return nil
                }
            case UInt8(ascii: "\""):
                return string().map { .string($0) }
            case UInt8(ascii: "t"): return literal("true", .bool(true))
            case UInt8(ascii: "f"): return literal("false", .bool(false))
            case UInt8(ascii: "n"): return literal("null", .null)
            default:
                let start = i
                while i < bytes.count, Self.numberByte(bytes[i]) { i += 1 }
                guard i > start else { return nil }
                return .number(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self))
            }
        }

        static func numberByte(_ b: UInt8) -> Bool {
            (b >= 48 && b <= 57) || b == UInt8(ascii: "-") || b == UInt8(ascii: "+") || b == UInt8(ascii: ".")
                || b == UInt8(ascii: "e") || b == UInt8(ascii: "E")
        }

        mutating func literal(_ word: StaticString, _ v: JSONNode) -> JSONNode? {
            let n = word.utf8CodeUnitCount
            guard i + n <= bytes.count else { return nil }
            for k in 0..<n where bytes[i + k] != word.utf8Start[k] { return nil }
            i += n
            return v
        }

        mutating func string() -> String? {
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { return nil }
            i += 1
            let start = i
            var plain = true
            while i < bytes.count, bytes[i] != UInt8(ascii: "\"") {
                if bytes[i] == UInt8(ascii: "\\") { plain = false; i += 2 } else { i += 1 }
            }
            guard i < bytes.count else { return nil }
            let raw = UnsafeBufferPointer(rebasing: bytes[start..<i])
            i += 1
            if plain { return String(decoding: raw, as: UTF8.self) }
            return Self.unescape(raw)
        }

        static func unescape(_ raw: UnsafeBufferPointer<UInt8>) -> String? {
            var out: [UInt8] = []
            var k = 0
            while k < raw.count {
                let b = raw[k]
                guard b == UInt8(ascii: "\\"), k + 1 < raw.count else { out.append(b); k += 1; continue }
                let e = raw[k + 1]
                k += 2
                switch e {
                case UInt8(ascii: "n"): out.append(10)
                case UInt8(ascii: "t"): out.append(9)
                case UInt8(ascii: "r"): out.append(13)
                case UInt8(ascii: "b"): out.append(8)
                case UInt8(ascii: "f"): out.append(12)
                case UInt8(ascii: "u"):
                    guard k + 4 <= raw.count else { return nil }
                    var code: UInt32 = 0
                    for d in raw[k..<(k + 4)] {
                        guard let h = RestRequest.hexValue(d) else { return nil }
                        code = code << 4 | UInt32(h)
                    }
                    k += 4
                    let scalar = Unicode.Scalar(code) ?? "?"
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                default: out.append(e)
                }
            }
            return String(decoding: out, as: UTF8.self)
        }
    }
}
