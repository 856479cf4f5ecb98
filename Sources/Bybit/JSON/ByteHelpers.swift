// Byte-level helpers shared by the parser, the writer and the decoders.

@inline(__always)
func isDigit(_ c: UInt8) -> Bool { c &- UInt8(ascii: "0") < 10 }

@inline(__always)
func hexValue(_ c: UInt8) -> UInt32? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return UInt32(c - UInt8(ascii: "0"))
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return UInt32(c - UInt8(ascii: "a") + 10)
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return UInt32(c - UInt8(ascii: "A") + 10)
    default: return nil
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

/// Length of the well-formed UTF-8 sequence starting at `i`, or 0 when it is ill-formed
/// (overlongs, surrogates and values above U+10FFFF are ill-formed, per Unicode 3.9).
func validUTF8SequenceLength(_ s: UnsafeRawBufferPointer, at i: Int) -> Int {
    let n = s.count
    let b0 = s[i]
    func cont(_ k: Int, _ lo: UInt8 = 0x80, _ hi: UInt8 = 0xBF) -> Bool {
        i + k < n && s[i + k] >= lo && s[i + k] <= hi
    }
    switch b0 {
    case 0xC2...0xDF: return cont(1) ? 2 : 0
    case 0xE0: return cont(1, 0xA0, 0xBF) && cont(2) ? 3 : 0
    case 0xE1...0xEC, 0xEE...0xEF: return cont(1) && cont(2) ? 3 : 0
    case 0xED: return cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0
    case 0xF0: return cont(1, 0x90, 0xBF) && cont(2) && cont(3) ? 4 : 0
    case 0xF1...0xF3: return cont(1) && cont(2) && cont(3) ? 4 : 0
    case 0xF4: return cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0
    default: return 0
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
