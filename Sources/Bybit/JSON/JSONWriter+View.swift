/// Writing values straight from a parsed frame (hot path of the decoders).
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
