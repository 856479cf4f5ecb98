/// The kind of one JSON value.
public enum JSONKind: UInt8, Sendable, Hashable {
    case null
    case `false`
    case `true`
    case number
    case string
    case array
    case object
}

/// One value of a parsed document, in pre-order ("tape" layout).
///
/// Containers are followed by their children; `next` is the tape index just past the
/// value's subtree, so siblings are walked without recursion. Strings and numbers keep a
/// byte range into the source (strings without their quotes), never a copy.
public struct JSONNode: Sendable, Hashable {
    public var kind: JSONKind
    /// ``JSONNode/escaped`` and/or ``JSONNode/nonASCII`` for strings.
    public var flags: UInt8
    /// Byte offset of the value (for strings: of the first character after the quote).
    public var start: UInt32
    /// Byte offset just past the value (for strings: of the closing quote).
    public var end: UInt32
    /// Tape index just past this value's subtree.
    public var next: UInt32
    /// Number of elements (arrays) or members (objects); 0 for scalars.
    public var count: UInt32

    /// The string contains at least one backslash escape.
    public static let escaped: UInt8 = 1
    /// The string contains bytes ≥ 0x80 (UTF-8 that may need validation before copying).
    public static let nonASCII: UInt8 = 2
}

/// Why a byte sequence is not JSON.
public struct JSONParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Byte offset where parsing stopped.
    public var offset: Int
    public var reason: String

    public var description: String { "invalid JSON at byte \(offset): \(reason)" }
}

/// A strict RFC 8259 parser over raw bytes that writes a flat tape of ``JSONNode``s.
///
/// It allocates nothing per value: the caller hands in node storage that can hold at least
/// as many nodes as there are input bytes (every value takes at least one byte).
/// Nesting deeper than ``JSONParser/maxDepth`` is refused so garbage can never exhaust the stack.
public enum JSONParser {
    /// Deepest nesting accepted.
    public static let maxDepth = 256

    /// Parses `bytes` into `nodes`; returns the number of nodes written (root is index 0).
    /// - Precondition: `nodes.count >= bytes.count`.
    public static func parse(
        _ bytes: UnsafeRawBufferPointer, into nodes: UnsafeMutableBufferPointer<JSONNode>
    ) throws(JSONParseError) -> Int {
        precondition(nodes.count >= bytes.count, "node storage smaller than the input")
        guard let base = bytes.baseAddress, bytes.count > 0, let out = nodes.baseAddress else {
            throw JSONParseError(offset: 0, reason: "empty input")
        }
        guard bytes.count < Int(UInt32.max) else {
            throw JSONParseError(offset: 0, reason: "input larger than 4 GiB")
        }
        var p = TapeParser(p: base.assumingMemoryBound(to: UInt8.self), n: bytes.count, out: out)
        p.skipSpace()
        try p.value(depth: 0)
        p.skipSpace()
        if p.i != p.n { throw JSONParseError(offset: p.i, reason: "trailing characters after the value") }
        return p.count
    }

    /// Parses into a growable array (resized as needed); returns the node count.
    public static func parse(_ bytes: UnsafeRawBufferPointer, into nodes: inout [JSONNode]) throws(JSONParseError) -> Int {
        if nodes.count < bytes.count {
            nodes = [JSONNode](repeating: JSONNode(kind: .null, flags: 0, start: 0, end: 0, next: 0, count: 0),
                               count: Swift.max(bytes.count, 64))
        }
        var result: Result<Int, JSONParseError> = .success(0)
        nodes.withUnsafeMutableBufferPointer { buf in
            do throws(JSONParseError) {
                result = .success(try parse(bytes, into: buf))
            } catch {
                result = .failure(error)
            }
        }
        return try result.get()
    }
}

/// The recursive-descent worker behind ``JSONParser``.
private struct TapeParser {
    let p: UnsafePointer<UInt8>
    let n: Int
    let out: UnsafeMutablePointer<JSONNode>
    var i = 0
    var count = 0

    init(p: UnsafePointer<UInt8>, n: Int, out: UnsafeMutablePointer<JSONNode>) {
        self.p = p
        self.n = n
        self.out = out
    }

    @inline(__always)
    mutating func skipSpace() {
        while i < n {
            let c = p[i]
            if c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 { i += 1 } else { return }
        }
    }

    func fail(_ reason: String) -> JSONParseError { JSONParseError(offset: i, reason: reason) }

    @inline(__always)
    mutating func push(_ kind: JSONKind, flags: UInt8 = 0, start: Int, end: Int) -> Int {
        let index = count
        out[index] = JSONNode(kind: kind, flags: flags, start: UInt32(truncatingIfNeeded: start),
                              end: UInt32(truncatingIfNeeded: end), next: UInt32(truncatingIfNeeded: index + 1), count: 0)
        count += 1
        return index
    }

    mutating func value(depth: Int) throws(JSONParseError) {
        guard i < n else { throw fail("unexpected end of input") }
        switch p[i] {
        case UInt8(ascii: "\""): try string()
        case UInt8(ascii: "{"): try object(depth: depth + 1)
        case UInt8(ascii: "["): try array(depth: depth + 1)
        case UInt8(ascii: "t"): try literal("true", .true)
        case UInt8(ascii: "f"): try literal("false", .false)
        case UInt8(ascii: "n"): try literal("null", .null)
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): try number()
        default: throw fail("unexpected character")
        }
    }

    mutating func literal(_ word: StaticString, _ kind: JSONKind) throws(JSONParseError) {
        let len = word.utf8CodeUnitCount
        guard n - i >= len else { throw fail("truncated literal") }
        let w = word.utf8Start
        for k in 0..<len where p[i + k] != w[k] { throw fail("invalid literal") }
        _ = push(kind, start: i, end: i + len)
        i += len
    }

    mutating func number() throws(JSONParseError) {
        let start = i
        if p[i] == UInt8(ascii: "-") { i += 1 }
        guard i < n else { throw fail("truncated number") }
        if p[i] == UInt8(ascii: "0") {
            i += 1
        } else if p[i] >= UInt8(ascii: "1") && p[i] <= UInt8(ascii: "9") {
            i += 1
            while i < n && isDigit(p[i]) { i += 1 }
        } else {
            throw fail("invalid number")
        }
        if i < n && p[i] == UInt8(ascii: ".") {
            i += 1
            guard i < n && isDigit(p[i]) else { throw fail("invalid fraction") }
            while i < n && isDigit(p[i]) { i += 1 }
        }
        if i < n && (p[i] == UInt8(ascii: "e") || p[i] == UInt8(ascii: "E")) {
            i += 1
            if i < n && (p[i] == UInt8(ascii: "+") || p[i] == UInt8(ascii: "-")) { i += 1 }
            guard i < n && isDigit(p[i]) else { throw fail("invalid exponent") }
            while i < n && isDigit(p[i]) { i += 1 }
        }
        _ = push(.number, start: start, end: i)
    }

    mutating func string() throws(JSONParseError) {
        i += 1  // opening quote
        let start = i
        var flags: UInt8 = 0
        while true {
            // Jump eight bytes at a time to the next special byte (quote, backslash,
            // control, ≥0x80): the lowest flagged byte of the word is exact.
            #if _endian(little)
            while n - i >= 8 {
                let mask = Self.specialBytes(UnsafeRawPointer(p + i).loadUnaligned(as: UInt64.self))
                if mask == 0 {
                    i += 8
                } else {
                    i += mask.trailingZeroBitCount >> 3
                    break
                }
            }
            #endif
            guard i < n else { throw fail("unterminated string") }
            let c = p[i]
            if c == UInt8(ascii: "\"") { break }
            if c == UInt8(ascii: "\\") {
                flags |= JSONNode.escaped
                i += 1
                guard i < n else { throw fail("unterminated escape") }
                switch p[i] {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
                     UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    i += 1
                case UInt8(ascii: "u"):
                    guard n - i > 4 else { throw fail("truncated \\u escape") }
                    for k in 1...4 where hexValue(p[i + k]) == nil { throw fail("invalid \\u escape") }
                    i += 5
                default:
                    throw fail("invalid escape")
                }
                continue
            }
            if c < 0x20 { throw fail("control character in string") }
            if c >= 0x80 { flags |= JSONNode.nonASCII }
            i += 1
        }
        _ = push(.string, flags: flags, start: start, end: i)
        i += 1  // closing quote
    }

    /// The high bit of each byte of `w` that is `"`, `\`, below 0x20 or at least 0x80.
    /// Classic "has zero byte" tricks: bits above the first flagged byte may be false
    /// positives (borrows), the lowest one never is.
    @inline(__always)
    static func specialBytes(_ w: UInt64) -> UInt64 {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let high: UInt64 = 0x8080_8080_8080_8080
        let q = w ^ (ones &* 0x22)
        let b = w ^ (ones &* 0x5C)
        let quote = (q &- ones) & ~q
        let backslash = (b &- ones) & ~b
        let control = (w &- (ones &* 0x20)) & ~w
        return (quote | backslash | control | w) & high
    }

    mutating func array(depth: Int) throws(JSONParseError) {
        guard depth <= JSONParser.maxDepth else { throw fail("nesting too deep") }
        if pairOfPlainStrings() { return }
        let start = i
        let index = push(.array, start: start, end: start)
        i += 1
        skipSpace()
        var elements: UInt32 = 0
        if i < n && p[i] == UInt8(ascii: "]") {
            i += 1
        } else {
            while true {
                try value(depth: depth)
                elements += 1
                skipSpace()
                guard i < n else { throw fail("unterminated array") }
                if p[i] == UInt8(ascii: ",") {
                    i += 1
                    skipSpace()
                } else if p[i] == UInt8(ascii: "]") {
                    i += 1
                    break
                } else {
                    throw fail("expected , or ] in array")
                }
            }
        }
        out[index].end = UInt32(truncatingIfNeeded: i)
        out[index].next = UInt32(truncatingIfNeeded: count)
        out[index].count = elements
    }

    /// Fast path for the shape of every book level, `["1.9531","6198"]` (compact, ASCII, no
    /// escapes): three nodes without the general machinery. Anything else leaves `i`
    /// untouched and returns false.
    @inline(__always)
    mutating func pairOfPlainStrings() -> Bool {
        var j = i + 1
        guard j < n, p[j] == UInt8(ascii: "\"") else { return false }
        let s1 = j + 1
        guard let e1 = plainRun(from: s1) else { return false }
        j = e1
        guard j + 2 < n, p[j + 1] == UInt8(ascii: ","), p[j + 2] == UInt8(ascii: "\"") else { return false }
        let s2 = j + 3
        guard let e2 = plainRun(from: s2) else { return false }
        j = e2
        guard j + 1 < n, p[j + 1] == UInt8(ascii: "]") else { return false }
        let index = count
        out[index] = JSONNode(kind: .array, flags: 0, start: UInt32(truncatingIfNeeded: i),
                              end: UInt32(truncatingIfNeeded: j + 2), next: UInt32(truncatingIfNeeded: index + 3), count: 2)
        out[index + 1] = JSONNode(kind: .string, flags: 0, start: UInt32(truncatingIfNeeded: s1),
                                  end: UInt32(truncatingIfNeeded: e1), next: UInt32(truncatingIfNeeded: index + 2), count: 0)
        out[index + 2] = JSONNode(kind: .string, flags: 0, start: UInt32(truncatingIfNeeded: s2),
                                  end: UInt32(truncatingIfNeeded: j), next: UInt32(truncatingIfNeeded: index + 3), count: 0)
        count += 3
        i = j + 2
        return true
    }

    /// The index of the quote ending a string of plain bytes (ASCII, no escape, no
    /// control) that starts at `from`; nil when another special byte comes first.
    @inline(__always)
    func plainRun(from start: Int) -> Int? {
        var j = start
        #if _endian(little)
        while n - j >= 8 {
            let mask = Self.specialBytes(UnsafeRawPointer(p + j).loadUnaligned(as: UInt64.self))
            if mask != 0 {
                j += mask.trailingZeroBitCount >> 3
                return p[j] == UInt8(ascii: "\"") ? j : nil
            }
            j += 8
        }
        #endif
        while j < n {
            let c = p[j]
            if c == UInt8(ascii: "\"") { return j }
            if c < 0x20 || c >= 0x80 || c == UInt8(ascii: "\\") { return nil }
            j += 1
        }
        return nil
    }

    mutating func object(depth: Int) throws(JSONParseError) {
        guard depth <= JSONParser.maxDepth else { throw fail("nesting too deep") }
        let start = i
        let index = push(.object, start: start, end: start)
        i += 1
        skipSpace()
        var members: UInt32 = 0
        if i < n && p[i] == UInt8(ascii: "}") {
            i += 1
        } else {
            while true {
                guard i < n, p[i] == UInt8(ascii: "\"") else { throw fail("expected a string key") }
                try string()
                skipSpace()
                guard i < n, p[i] == UInt8(ascii: ":") else { throw fail("expected : after key") }
                i += 1
                skipSpace()
                try value(depth: depth)
                members += 1
                skipSpace()
                guard i < n else { throw fail("unterminated object") }
                if p[i] == UInt8(ascii: ",") {
                    i += 1
                    skipSpace()
                } else if p[i] == UInt8(ascii: "}") {
                    i += 1
                    break
                } else {
                    throw fail("expected , or } in object")
                }
            }
        }
        out[index].end = UInt32(truncatingIfNeeded: i)
        out[index].next = UInt32(truncatingIfNeeded: count)
        out[index].count = members
    }
}
