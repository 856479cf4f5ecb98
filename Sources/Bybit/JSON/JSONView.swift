#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A borrowed, allocation-free view of a parsed document: the source bytes and its tape.
///
/// Only valid inside the `withUnsafe…` scope that produced the pointers; the decoders use it
/// on the hot path, everything else goes through ``JSONDocument``.
struct JSONView {
    let bytes: UnsafePointer<UInt8>
    let nodes: UnsafePointer<JSONNode>
    let nodeCount: Int

    @inline(__always) func kind(_ i: Int) -> JSONKind { nodes[i].kind }
    @inline(__always) func node(_ i: Int) -> JSONNode { nodes[i] }
    /// Tape index just past the subtree of `i` (the next sibling, if any).
    @inline(__always) func next(_ i: Int) -> Int { Int(nodes[i].next) }
    @inline(__always) func count(_ i: Int) -> Int { Int(nodes[i].count) }

    /// The value's source bytes (string content without quotes, number text, container text).
    @inline(__always) func raw(_ i: Int) -> UnsafeRawBufferPointer {
        let n = nodes[i]
        return UnsafeRawBufferPointer(start: bytes + Int(n.start), count: Int(n.end &- n.start))
    }

    /// A string node whose bytes can be copied verbatim between quotes.
    @inline(__always) func isPlainString(_ i: Int) -> Bool {
        nodes[i].kind == .string && nodes[i].flags == 0
    }

    @inline(__always) func isEmptyString(_ i: Int) -> Bool {
        nodes[i].kind == .string && nodes[i].start == nodes[i].end
    }

    /// Whether the key node `k` (a string) equals `key`.
    @inline(__always) func keyEquals(_ k: Int, _ key: StaticString) -> Bool {
        let n = nodes[k]
        let len = Int(n.end &- n.start)
        guard len == key.utf8CodeUnitCount else {
            return n.flags & JSONNode.escaped != 0
                && decoded(k).elementsEqual(UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        }
        // Keys are short: compare inline rather than call memcmp.
        let a = bytes + Int(n.start)
        let b = key.utf8Start
        for i in 0..<len where a[i] != b[i] { return false }
        return true
    }

    /// Whether string node `i` equals `text`.
    @inline(__always) func stringEquals(_ i: Int, _ text: StaticString) -> Bool {
        nodes[i].kind == .string && keyEquals(i, text)
    }

    /// The value of member `key` in object `obj`, or nil.
    func member(_ obj: Int, _ key: StaticString) -> Int? {
        guard nodes[obj].kind == .object else { return nil }
        var k = obj + 1
        for _ in 0..<Int(nodes[obj].count) {
            if keyEquals(k, key) { return k + 1 }
            k = next(k + 1)
        }
        return nil
    }

    /// Index of the first element of array `i` (meaningful when `count(i) > 0`).
    @inline(__always) func firstChild(_ i: Int) -> Int { i + 1 }

    /// The string value, unescaped; nil when `i` is not a string.
    func string(_ i: Int) -> String? {
        guard nodes[i].kind == .string else { return nil }
        if nodes[i].flags == 0 { return String(decoding: raw(i), as: UTF8.self) }
        return String(decoding: decoded(i), as: UTF8.self)
    }

    /// A member's string value, or nil when missing or not a string.
    func string(_ obj: Int, _ key: StaticString) -> String? {
        member(obj, key).flatMap { string($0) }
    }

    /// The text of a number, or of a string, as a Swift string (for messages and ids).
    func text(_ i: Int) -> String {
        switch nodes[i].kind {
        case .string: return string(i) ?? ""
        default: return String(decoding: raw(i), as: UTF8.self)
        }
    }

    /// An integer from a JSON number or from a string of digits (Bybit sends ms times both ways).
    func int64(_ i: Int) -> Int64? {
        let n = nodes[i]
        guard n.kind == .number || (n.kind == .string && n.flags == 0) else { return nil }
        return parseInt64(raw(i))
    }

    func bool(_ i: Int) -> Bool? {
        switch nodes[i].kind {
        case .true: return true
        case .false: return false
        default: return nil
        }
    }

    /// The unescaped UTF-8 bytes of string node `i` (invalid surrogates become U+FFFD).
    func decoded(_ i: Int) -> [UInt8] {
        let r = raw(i)
        guard nodes[i].flags & JSONNode.escaped != 0 else { return Array(r) }
        return unescapeJSONString(r)
    }
}

/// Parses an optionally negative run of decimal digits that fits in Int64.
@inline(__always)
func parseInt64(_ r: UnsafeRawBufferPointer) -> Int64? {
    var idx = 0
    let n = r.count
    guard n > 0 else { return nil }
    var negative = false
    if r[0] == UInt8(ascii: "-") {
        negative = true
        idx = 1
        guard n > 1 else { return nil }
    }
    let digits = n - idx
    guard digits <= 19 else { return nil }
    var v: Int64 = 0
    if digits <= 18 {
        // Eighteen digits cannot overflow.
        while idx < n {
            let d = r[idx] &- UInt8(ascii: "0")
            guard d < 10 else { return nil }
            v = v &* 10 &+ Int64(d)
            idx += 1
        }
    } else {
        while idx < n {
            let d = r[idx] &- UInt8(ascii: "0")
            guard d < 10 else { return nil }
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int64(d))
            if o1 || o2 { return nil }
            v = s
            idx += 1
        }
    }
    return negative ? -v : v
}

/// Resolves JSON escapes in string content; input must have passed the parser.
func unescapeJSONString(_ r: UnsafeRawBufferPointer) -> [UInt8] {
    var out = [UInt8]()
    out.reserveCapacity(r.count)
    var i = 0
    let n = r.count
    func hex4(_ at: Int) -> UInt32 {
        var v: UInt32 = 0
        for k in 0..<4 { v = v << 4 | (hexValue(r[at + k]) ?? 0) }
        return v
    }
    func appendScalar(_ v: UInt32) {
        let scalar = Unicode.Scalar(v) ?? "\u{FFFD}"
        UTF8.encode(scalar) { out.append($0) }
    }
    while i < n {
        let c = r[i]
        guard c == UInt8(ascii: "\\"), i + 1 < n else {
            out.append(c)
            i += 1
            continue
        }
        let e = r[i + 1]
        i += 2
        switch e {
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "u"):
            guard i + 4 <= n else { return out }
            let u = hex4(i)
            i += 4
            if u >= 0xD800 && u < 0xDC00 {
                // A high surrogate must be followed by \u + low surrogate.
                if i + 6 <= n, r[i] == UInt8(ascii: "\\"), r[i + 1] == UInt8(ascii: "u") {
                    let low = hex4(i + 2)
                    if low >= 0xDC00 && low < 0xE000 {
                        i += 6
                        appendScalar(0x10000 + ((u - 0xD800) << 10) + (low - 0xDC00))
                        continue
                    }
                }
                appendScalar(0xFFFD)
            } else if u >= 0xDC00 && u < 0xE000 {
                appendScalar(0xFFFD)
            } else {
                appendScalar(u)
            }
        default: out.append(e)  // \" \\ \/
        }
    }
    return out
}


extension JSONWriter {
    /// Writes string node `i` of `v`: a verbatim copy when the parser saw nothing to
    /// escape, otherwise unescaped and escaped again canonically.
    @inline(__always)
    mutating func string(_ v: JSONView, _ i: Int) {
        if v.nodes[i].flags == 0 {
            plainString(v.raw(i))
        } else {
            let decoded = v.decoded(i)
            decoded.withUnsafeBytes { string(utf8: $0) }
        }
    }

    /// Writes an integer node: a JSON integer is already canonical (JSON forbids leading
    /// zeros), so its text is copied; anything else is parsed and printed.
    @inline(__always)
    mutating func integer(_ v: JSONView, _ i: Int, _ value: Int64) {
        if v.kind(i) == .number {
            let r = v.raw(i)
            var plain = !(r.count == 2 && r[0] == UInt8(ascii: "-") && r[1] == UInt8(ascii: "0"))
            for b in r where b == UInt8(ascii: ".") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E") { plain = false }
            if plain {
                raw(r)
                return
            }
        }
        int(value)
    }

    /// Writes node `i` (a string or a number) as a canonical decimal string.
    @inline(__always)
    mutating func decimal(_ v: JSONView, _ i: Int) -> Bool {
        let k = v.kind(i)
        guard (k == .string && v.nodes[i].flags == 0) || k == .number else { return false }
        return decimal(v.raw(i))
    }
}

extension Array where Element == UInt8 {
    /// Appends raw bytes through the typed-pointer path (a memcpy; the raw-buffer overload
    /// of `append(contentsOf:)` copies byte by byte).
    @inline(__always)
    mutating func appendRaw(_ p: UnsafeRawBufferPointer) {
        guard let base = p.baseAddress, p.count > 0 else { return }
        append(contentsOf: UnsafeBufferPointer(start: base.assumingMemoryBound(to: UInt8.self), count: p.count))
    }
}
