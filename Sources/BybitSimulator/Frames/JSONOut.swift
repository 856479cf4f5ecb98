/// A minimal, fast JSON writer into bytes. Keys come out in the order written, which is how
/// the simulator reproduces Bybit's field order; commas are inserted automatically.
public struct JSONOut {
    public private(set) var bytes: [UInt8]
    /// One entry per open container: whether the next element needs a comma.
    private var needsComma: [Bool] = []
    private var afterKey = false

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public var string: String { String(decoding: bytes, as: UTF8.self) }

    private mutating func separator() {
        if afterKey { afterKey = false; return }
        if let last = needsComma.last {
            if last { bytes.append(UInt8(ascii: ",")) } else { needsComma[needsComma.count - 1] = true }
        }
    }

    public mutating func openObject() {
        separator()
        bytes.append(UInt8(ascii: "{"))
        needsComma.append(false)
    }

    public mutating func closeObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma.removeLast()
    }

    public mutating func openArray() {
        separator()
        bytes.append(UInt8(ascii: "["))
        needsComma.append(false)
    }

    public mutating func closeArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma.removeLast()
    }

    public mutating func key(_ k: StaticString) {
        separator()
        bytes.append(UInt8(ascii: "\""))
        k.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
        afterKey = true
    }

    public mutating func key(_ k: String) {
        separator()
        appendQuoted(k)
        bytes.append(UInt8(ascii: ":"))
        afterKey = true
    }

    public mutating func string(_ s: String) {
        separator()
        appendQuoted(s)
    }

    public mutating func string(_ s: StaticString) {
        separator()
        bytes.append(UInt8(ascii: "\""))
        s.withUTF8Buffer { bytes.append(contentsOf: $0) }
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func int(_ v: Int64) {
        separator()
        if v < 0 { bytes.append(UInt8(ascii: "-")) }
        Fixed.appendUnsigned(v.magnitude, to: &bytes)
    }

    public mutating func int(_ v: Int) { int(Int64(v)) }

    /// An integer written as a JSON string (`"1705761437503"`).
    public mutating func intString(_ v: Int64) {
        separator()
        bytes.append(UInt8(ascii: "\""))
        if v < 0 { bytes.append(UInt8(ascii: "-")) }
        Fixed.appendUnsigned(v.magnitude, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func bool(_ b: Bool) {
        separator()
        if b { bytes.append(contentsOf: [116, 114, 117, 101]) } else { bytes.append(contentsOf: [102, 97, 108, 115, 101]) }
    }

    public mutating func null() {
        separator()
        bytes.append(contentsOf: [110, 117, 108, 108])
    }

    /// A decimal written as a JSON string in the given style (`"28550.70"`).
    public mutating func number(_ v: Fixed, _ style: NumberStyle = .trimmed) {
        separator()
        bytes.append(UInt8(ascii: "\""))
        style.append(v, to: &bytes)
        bytes.append(UInt8(ascii: "\""))
    }

    /// Already-encoded JSON (a value), inserted as is.
    public mutating func rawValue(_ json: [UInt8]) {
        separator()
        bytes.append(contentsOf: json)
    }

    public mutating func rawValue(_ json: String) {
        separator()
        bytes.append(contentsOf: json.utf8)
    }

    // Convenience: key + value.
    public mutating func field(_ k: StaticString, _ v: String) { key(k); string(v) }
    public mutating func field(_ k: StaticString, static v: StaticString) { key(k); string(v) }
    public mutating func field(_ k: StaticString, int v: Int64) { key(k); int(v) }
    public mutating func field(_ k: StaticString, int v: Int) { key(k); int(Int64(v)) }
    public mutating func field(_ k: StaticString, intString v: Int64) { key(k); intString(v) }
    public mutating func field(_ k: StaticString, bool v: Bool) { key(k); bool(v) }
    public mutating func field(_ k: StaticString, _ v: Fixed, _ style: NumberStyle = .trimmed) { key(k); number(v, style) }

    private mutating func appendQuoted(_ s: String) {
        bytes.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): bytes.append(UInt8(ascii: "\\")); bytes.append(b)
            case UInt8(ascii: "\\"): bytes.append(UInt8(ascii: "\\")); bytes.append(b)
            case 0x0A: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "n"))
            case 0x0D: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "r"))
            case 0x09: bytes.append(UInt8(ascii: "\\")); bytes.append(UInt8(ascii: "t"))
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: [92, 117, 48, 48, hex[Int(b >> 4)], hex[Int(b & 0xf)]])
            case UInt8(ascii: ">"):
                // Bybit's Go encoder escapes HTML characters (`args size \u003e10`).
                bytes.append(contentsOf: Array("\\u003e".utf8))
            case UInt8(ascii: "<"):
                bytes.append(contentsOf: Array("\\u003c".utf8))
            case UInt8(ascii: "&"):
                bytes.append(contentsOf: Array("\\u0026".utf8))
            default: bytes.append(b)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
