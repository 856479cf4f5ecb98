import Foundation

/// Decimal numbers as text: validation and the one canonical form used in event data.
///
/// Canonical text has no leading zeros, no trailing fractional zeros, no exponent, no `+`,
/// and no negative zero: `"007.50"` → `"7.5"`, `"-0.000"` → `"0"`, `"1.0"` → `"1"`,
/// `"1e-3"` → `"0.001"`. It equals `Decimal.description` for values `Decimal` can hold.
/// Bybit sends `""` for "no value": that is absent, not zero.
public enum DecimalText {
    /// Largest exponent (in `1e…` notation) accepted, so a hostile `1e999999999` cannot
    /// make us write a gigabyte of zeros.
    public static let maxExponent = 100

    /// The outcome of reading a decimal field.
    public enum Reading: Sendable, Hashable {
        /// The field was `""`.
        case absent
        /// Canonical text.
        case value(String)
        /// Not a decimal.
        case invalid
    }

    /// Reads `text` as a decimal field: `""` is absent, anything else must be a decimal.
    public static func read(_ text: String) -> Reading {
        if text.isEmpty { return .absent }
        var copy = text
        return copy.withUTF8 { buf in
            var out = [UInt8]()
            out.reserveCapacity(buf.count + 2)
            guard appendCanonical(UnsafeRawBufferPointer(buf), to: &out) else { return .invalid }
            return .value(String(decoding: out, as: UTF8.self))
        }
    }

    /// Canonical text of `text`, or nil when it is empty or not a decimal.
    public static func canonical(_ text: String) -> String? {
        if case .value(let v) = read(text) { return v }
        return nil
    }

    /// Whether `text` is a decimal in plain (`-12.5`) or exponent (`1.2e-3`) notation.
    public static func isValid(_ text: String) -> Bool { canonical(text) != nil }

    /// A `Decimal` from decimal text (canonicalized first, so `Decimal(string:)` never sees
    /// anything it might half-parse); nil for `""` or invalid text.
    public static func decimal(_ text: String) -> Decimal? {
        guard let c = canonical(text) else { return nil }
        return Decimal(string: c, locale: nil)
    }

    /// Canonical text of a `Decimal`.
    public static func text(_ value: Decimal) -> String {
        if value.isNaN { return "NaN" }
        return canonical(value.description) ?? value.description
    }

    /// Appends the canonical text of `src` to `out`; returns false (appending nothing) when
    /// `src` is not a decimal. `src` must not be empty.
    @inline(__always)
    static func appendCanonical(_ src: UnsafeRawBufferPointer, to out: inout [UInt8]) -> Bool {
        guard let scan = DecimalScan(src) else { return false }
        if scan.hasExponent { return appendExponentForm(src, to: &out) }
        if scan.isZero {
            out.append(UInt8(ascii: "0"))
            return true
        }
        if scan.negative { out.append(UInt8(ascii: "-")) }
        if scan.intStart == scan.intEnd {
            out.append(UInt8(ascii: "0"))
        } else {
            out.appendRaw(UnsafeRawBufferPointer(rebasing: src[scan.intStart..<scan.intEnd]))
        }
        if scan.fracEnd > scan.fracStart {
            out.append(UInt8(ascii: "."))
            out.appendRaw(UnsafeRawBufferPointer(rebasing: src[scan.fracStart..<scan.fracEnd]))
        }
        return true
    }

    /// The rare `1.5e-3` form: shift the point, then print plainly.
    static func appendExponentForm(_ src: UnsafeRawBufferPointer, to out: inout [UInt8]) -> Bool {
        let n = src.count
        var i = 0
        let negative = src[0] == UInt8(ascii: "-")
        if negative { i = 1 }
        let intBegin = i
        while i < n && isDigit(src[i]) { i += 1 }
        let intEnd = i
        var fracBegin = i
        var fracEnd = i
        if i < n && src[i] == UInt8(ascii: ".") {
            i += 1
            fracBegin = i
            while i < n && isDigit(src[i]) { i += 1 }
            fracEnd = i
        }
        guard intEnd > intBegin, i < n, src[i] == UInt8(ascii: "e") || src[i] == UInt8(ascii: "E") else { return false }
        i += 1
        var expNegative = false
        if i < n && (src[i] == UInt8(ascii: "+") || src[i] == UInt8(ascii: "-")) {
            expNegative = src[i] == UInt8(ascii: "-")
            i += 1
        }
        guard i < n else { return false }
        var exponent = 0
        while i < n {
            guard isDigit(src[i]) else { return false }
            exponent = exponent * 10 + Int(src[i] - UInt8(ascii: "0"))
            if exponent > maxExponent { return false }
            i += 1
        }
        if expNegative { exponent = -exponent }
        var digits = [UInt8]()
        digits.appendRaw(UnsafeRawBufferPointer(rebasing: src[intBegin..<intEnd]))
        digits.appendRaw(UnsafeRawBufferPointer(rebasing: src[fracBegin..<fracEnd]))
        var point = (intEnd - intBegin) + exponent
        var lead = 0
        while lead < digits.count && digits[lead] == UInt8(ascii: "0") { lead += 1 }
        point -= lead
        var trail = digits.count
        while trail > lead && digits[trail - 1] == UInt8(ascii: "0") { trail -= 1 }
        let significant = digits[lead..<trail]
        if significant.isEmpty {
            out.append(UInt8(ascii: "0"))
            return true
        }
        if negative { out.append(UInt8(ascii: "-")) }
        if point <= 0 {
            out.append(UInt8(ascii: "0"))
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: -point))
            out.append(contentsOf: significant)
        } else if point >= significant.count {
            out.append(contentsOf: significant)
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: point - significant.count))
        } else {
            let mid = significant.startIndex + point
            out.append(contentsOf: significant[..<mid])
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: significant[mid...])
        }
        return true
    }
}

/// One pass over decimal text: where its significant digits are. Leading integer zeros and
/// trailing fraction zeros fall outside the ranges, so canonical text is a copy of them.
struct DecimalScan {
    var negative = false
    /// First significant integer digit; `intStart == intEnd` when the integer part is 0.
    var intStart = 0
    var intEnd = 0
    var fracStart = 0
    /// Just past the last non-zero fraction digit.
    var fracEnd = 0
    /// `1e-3` notation: the ranges are not filled in; use the slow path.
    var hasExponent = false

    var isZero: Bool { intStart == intEnd && fracStart == fracEnd }

    init() {}

    /// Scans `src` and builds its ``PriceKey`` in the same pass (the order-book hot path).
    /// Nil when `src` is not a decimal; a nil key when it has more than
    /// ``PriceKey/maxDigits`` significant digits.
    @inline(__always)
    static func scanWithKey(_ src: UnsafeRawBufferPointer) -> (scan: DecimalScan, key: PriceKey?)? {
        let n = src.count
        guard n > 0 else { return nil }
        var s = DecimalScan()
        var i = 0
        if src[0] == UInt8(ascii: "-") {
            s.negative = true
            i = 1
        }
        let intBegin = i
        var m: Int64 = 0
        var mAtLast: Int64 = 0
        var first = -1
        var last = -1
        while i < n {
            let d = src[i] &- UInt8(ascii: "0")
            if d >= 10 { break }
            m = m &* 10 &+ Int64(d)
            if d != 0 {
                if first < 0 { first = i }
                last = i
                mAtLast = m
            }
            i += 1
        }
        guard i > intBegin else { return nil }
        s.intEnd = i
        s.intStart = first >= 0 ? first : i
        s.fracStart = i
        s.fracEnd = i
        var dot = -1
        if i < n && src[i] == UInt8(ascii: ".") {
            dot = i
            i += 1
            s.fracStart = i
            while i < n {
                let d = src[i] &- UInt8(ascii: "0")
                if d >= 10 { break }
                m = m &* 10 &+ Int64(d)
                if d != 0 {
                    if first < 0 { first = i }
                    last = i
                    mAtLast = m
                }
                i += 1
            }
            guard i > s.fracStart else { return nil }
            s.fracEnd = last > dot ? last + 1 : s.fracStart
        }
        if i < n {
            guard src[i] == UInt8(ascii: "e") || src[i] == UInt8(ascii: "E"), let full = DecimalScan(src) else { return nil }
            return (full, PriceKey(scan: full, in: src))
        }
        if first < 0 { return (s, .zero) }
        // m wraps beyond 18 digits, but mAtLast was taken at the last non-zero digit.
        let significant = last - first + 1 - (dot > first && dot < last ? 1 : 0)
        let exponent = dot >= 0 && last > dot ? -(last - dot) : s.intEnd - 1 - last
        guard significant <= PriceKey.maxDigits, exponent < Int(Int16.max) else { return (s, nil) }
        return (s, PriceKey(normalizedMantissa: s.negative ? -mAtLast : mAtLast, exponent: Int16(exponent)))
    }

    /// Nil when `src` is not `-?digits(.digits)?([eE][+-]?digits)?`.
    @inline(__always)
    init?(_ src: UnsafeRawBufferPointer) {
        let n = src.count
        guard n > 0 else { return nil }
        var i = 0
        if src[0] == UInt8(ascii: "-") {
            negative = true
            i = 1
        }
        let intBegin = i
        while i < n && isDigit(src[i]) { i += 1 }
        intEnd = i
        guard intEnd > intBegin else { return nil }
        fracStart = i
        fracEnd = i
        if i < n && src[i] == UInt8(ascii: ".") {
            i += 1
            fracStart = i
            while i < n && isDigit(src[i]) { i += 1 }
            fracEnd = i
            guard fracEnd > fracStart else { return nil }
        }
        if i < n {
            guard src[i] == UInt8(ascii: "e") || src[i] == UInt8(ascii: "E") else { return nil }
            hasExponent = true
            return
        }
        intStart = intBegin
        while intStart < intEnd && src[intStart] == UInt8(ascii: "0") { intStart += 1 }
        while fracEnd > fracStart && src[fracEnd - 1] == UInt8(ascii: "0") { fracEnd -= 1 }
    }
}
