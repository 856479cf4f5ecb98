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
