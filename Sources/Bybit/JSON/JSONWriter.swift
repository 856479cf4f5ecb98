#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Appends compact JSON to a growable byte buffer; ``take()`` hands the bytes out as `[UInt8]`.
///
/// Object keys are written in the order given: callers write them sorted (byte order, as
/// `JSONEncoder`'s `.sortedKeys` does) so that the output is already canonical. Strings are
/// escaped exactly as `CanonicalJSON` does (`\"`, `\\`, `\b \f \n \r \t`, other controls as
/// `\u00xx`; `/` and non-ASCII verbatim); invalid UTF-8 becomes U+FFFD.
///
/// Non-copyable so it can own raw memory: the frame decoders write a few hundred small
/// pieces per event, and going through `Array.append` for each cost a third of the time.
///
/// ```swift
/// var w = JSONWriter()
/// w.beginObject(); w.key("a"); w.int(1); w.key("b"); w.string("x\n"); w.endObject()
/// w.take() // {"a":1,"b":"x\n"}
/// ```
public struct JSONWriter: ~Copyable {
    private var base: UnsafeMutablePointer<UInt8>
    private var capacity: Int
    /// Bytes written so far.
    public private(set) var count = 0
    private var needsComma = false
    /// Set when a value had no JSON text (a NaN decimal): the output is not valid JSON.
    public internal(set) var invalidNumber = false

    public init(capacity: Int = 256) {
        self.capacity = Swift.max(capacity, 16)
        base = UnsafeMutablePointer<UInt8>.allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    /// A copy of the bytes written so far.
    public var bytes: [UInt8] { Array(UnsafeBufferPointer(start: base, count: count)) }

    /// Lends the bytes written so far (valid only inside `body`).
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }

    /// Returns the bytes written and empties the writer (keeping its buffer).
    public mutating func take() -> [UInt8] {
        let out = bytes
        count = 0
        needsComma = false
        invalidNumber = false
        return out
    }

    /// Empties the writer, keeping its buffer.
    public mutating func reset() {
        count = 0
        needsComma = false
        invalidNumber = false
    }

    // MARK: Raw output

    @inline(__always) private mutating func reserve(_ extra: Int) {
        if count &+ extra > capacity { grow(extra) }
    }

    @inline(never) private mutating func grow(_ extra: Int) {
        let newCapacity = Swift.max(capacity * 2, count + extra)
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    @inline(__always) mutating func put(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count &+= 1
    }

    @inline(__always) mutating func put(_ bytes: UnsafeRawBufferPointer) {
        let n = bytes.count
        guard n > 0 else { return }
        reserve(n)
        copy(bytes.baseAddress!, to: base + count, n)
        count &+= n
    }

    /// memcpy, without the call for the short runs that make up most of our output.
    @inline(__always) private func copy(_ from: UnsafeRawPointer, to: UnsafeMutablePointer<UInt8>, _ n: Int) {
        if n <= 16 {
            let src = from.assumingMemoryBound(to: UInt8.self)
            for k in 0..<n { to[k] = src[k] }
        } else {
            memcpy(to, from, n)
        }
    }

    @inline(__always) mutating func put(_ s: StaticString) {
        put(UnsafeRawBufferPointer(start: s.utf8Start, count: s.utf8CodeUnitCount))
    }

    @inline(__always) private mutating func separator() {
        if needsComma { put(UInt8(ascii: ",")) }
    }

    // MARK: Structure

    public mutating func beginObject() {
        separator()
        put(UInt8(ascii: "{"))
        needsComma = false
    }

    public mutating func endObject() {
        put(UInt8(ascii: "}"))
        needsComma = true
    }

    public mutating func beginArray() {
        separator()
        put(UInt8(ascii: "["))
        needsComma = false
    }

    public mutating func endArray() {
        put(UInt8(ascii: "]"))
        needsComma = true
    }

    /// A key made of characters that need no escaping (all of ours).
    @inline(__always)
    public mutating func key(_ name: StaticString) {
        separator()
        reserve(name.utf8CodeUnitCount + 3)
        base[count] = UInt8(ascii: "\"")
        copy(name.utf8Start, to: base + count + 1, name.utf8CodeUnitCount)
        count += name.utf8CodeUnitCount + 1
        base[count] = UInt8(ascii: "\"")
        base[count + 1] = UInt8(ascii: ":")
        count += 2
        needsComma = false
    }

    /// A key from any string (escaped as needed). A separate label keeps literal keys on
    /// the ``key(_:)`` fast path: an unlabeled `String` overload would win for literals.
    public mutating func key(string name: String) {
        string(name)
        put(UInt8(ascii: ":"))
        needsComma = false
    }

    /// A key from raw UTF-8 (escaped as needed).
    public mutating func key(utf8 name: UnsafeRawBufferPointer) {
        string(utf8: name)
        put(UInt8(ascii: ":"))
        needsComma = false
    }

    // MARK: Values

    public mutating func string(_ value: String) {
        var copy = value
        copy.withUTF8 { string(utf8: UnsafeRawBufferPointer($0)) }
    }

    /// A string value from UTF-8 bytes, escaped.
    public mutating func string(utf8 value: UnsafeRawBufferPointer) {
        separator()
        put(UInt8(ascii: "\""))
        appendEscaped(value)
        put(UInt8(ascii: "\""))
        needsComma = true
    }

    /// A string whose bytes are known to need no escaping and to be ASCII (a string node
    /// the parser flagged as plain, or text we produced).
    @inline(__always)
    mutating func plainString(_ value: UnsafeRawBufferPointer) {
        separator()
        reserve(value.count + 2)
        base[count] = UInt8(ascii: "\"")
        if value.count > 0 { copy(value.baseAddress!, to: base + count + 1, value.count) }
        count += value.count + 1
        base[count] = UInt8(ascii: "\"")
        count += 1
        needsComma = true
    }

    public mutating func int(_ value: Int64) {
        separator()
        reserve(20)
        if value < 0 {
            base[count] = UInt8(ascii: "-")
            count += 1
        }
        var m = value.magnitude
        var digits = 1
        var probe = m
        while probe >= 10 {
            probe /= 10
            digits += 1
        }
        var k = count + digits
        repeat {
            k -= 1
            base[k] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: m % 10)
            m /= 10
        } while m > 0
        count += digits
        needsComma = true
    }

    public mutating func int(_ value: Int) { int(Int64(value)) }

    public mutating func bool(_ value: Bool) {
        separator()
        if value { put("true") } else { put("false") }
        needsComma = true
    }

    public mutating func null() {
        separator()
        put("null")
        needsComma = true
    }

    /// A member from an already-encoded key (`"name":`, as ``key(utf8:)`` writes it) and an
    /// already-encoded JSON value, both copied verbatim.
    public mutating func rawMember(encodedKey: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) {
        separator()
        put(encodedKey)
        put(value)
        needsComma = true
    }

    /// An already-encoded JSON value, copied verbatim.
    public mutating func raw(_ json: UnsafeRawBufferPointer) {
        separator()
        put(json)
        needsComma = true
    }

    /// An already-encoded JSON value, copied verbatim.
    public mutating func raw(_ json: [UInt8]) {
        json.withUnsafeBytes { raw($0) }
    }

    /// A decimal as a JSON string in canonical text; returns false (writing nothing) when
    /// `text` is empty or not a decimal.
    @discardableResult
    public mutating func decimal(_ text: UnsafeRawBufferPointer) -> Bool {
        guard let scan = DecimalScan(text) else { return false }
        separator()
        put(UInt8(ascii: "\""))
        canonical(scan, text)
        put(UInt8(ascii: "\""))
        needsComma = true
        return true
    }

    @discardableResult
    public mutating func decimal(_ text: String) -> Bool {
        var copy = text
        return copy.withUTF8 { decimal(UnsafeRawBufferPointer($0)) }
    }

    /// A decimal as a JSON number in canonical text (`1.50` → `1.5`, `1e3` → `1000`);
    /// returns false (writing nothing) when `text` is not a decimal.
    @discardableResult
    public mutating func number(_ text: UnsafeRawBufferPointer) -> Bool {
        guard let scan = DecimalScan(text) else { return false }
        separator()
        canonical(scan, text)
        needsComma = true
        return true
    }

    /// A ``PriceKey`` as a canonical decimal string.
    public mutating func decimal(_ key: PriceKey) {
        var text = [UInt8]()
        key.appendText(to: &text)
        text.withUnsafeBytes { plainString($0) }
    }

    /// Canonical text of scanned decimal text (no quotes, no separator).
    @inline(__always)
    mutating func canonical(_ scan: DecimalScan, _ src: UnsafeRawBufferPointer) {
        if scan.hasExponent {
            var plain = [UInt8]()
            _ = DecimalText.appendExponentForm(src, to: &plain)
            plain.withUnsafeBytes { put($0) }
            return
        }
        if scan.isZero {
            put(UInt8(ascii: "0"))
            return
        }
        let intLen = scan.intEnd - scan.intStart
        let fracLen = scan.fracEnd - scan.fracStart
        reserve(intLen + fracLen + 3)
        if scan.negative {
            base[count] = UInt8(ascii: "-")
            count += 1
        }
        if intLen == 0 {
            base[count] = UInt8(ascii: "0")
            count += 1
        } else {
            copy(src.baseAddress! + scan.intStart, to: base + count, intLen)
            count += intLen
        }
        if fracLen > 0 {
            base[count] = UInt8(ascii: ".")
            copy(src.baseAddress! + scan.fracStart, to: base + count + 1, fracLen)
            count += fracLen + 1
        }
    }

    /// A decimal string from text already scanned, with one capacity check.
    @inline(__always)
    mutating func decimal(_ scan: DecimalScan, _ src: UnsafeRawBufferPointer) {
        if scan.hasExponent || scan.isZero {
            separator()
            put(UInt8(ascii: "\""))
            canonical(scan, src)
            put(UInt8(ascii: "\""))
            needsComma = true
            return
        }
        let intLen = scan.intEnd - scan.intStart
        let fracLen = scan.fracEnd - scan.fracStart
        reserve(intLen + fracLen + 6)
        var o = count
        if needsComma {
            base[o] = UInt8(ascii: ",")
            o += 1
        }
        base[o] = UInt8(ascii: "\"")
        o += 1
        if scan.negative {
            base[o] = UInt8(ascii: "-")
            o += 1
        }
        if intLen == 0 {
            base[o] = UInt8(ascii: "0")
            o += 1
            if fracLen > 0 {
                base[o] = UInt8(ascii: ".")
                copy(src.baseAddress! + scan.fracStart, to: base + o + 1, fracLen)
                o += fracLen + 1
            }
        } else {
            // "1.95" sits in the source as one run: integer digits, point, fraction.
            let run = fracLen > 0 ? scan.fracEnd - scan.intStart : intLen
            copy(src.baseAddress! + scan.intStart, to: base + o, run)
            o += run
        }
        base[o] = UInt8(ascii: "\"")
        count = o + 1
        needsComma = true
    }

    /// A byte a JSON string holds as it is: printable ASCII other than `"` and `\`.
    @inline(__always)
    static func isPlain(_ c: UInt8) -> Bool {
        c >= 0x20 && c < 0x80 && c != UInt8(ascii: "\"") && c != UInt8(ascii: "\\")
    }

    private mutating func appendEscaped(_ s: UnsafeRawBufferPointer) {
        var runStart = 0
        var i = 0
        let n = s.count
        while i < n {
            let c = s[i]
            if Self.isPlain(c) {
                i += 1
                continue
            }
            if runStart < i { put(UnsafeRawBufferPointer(rebasing: s[runStart..<i])) }
            if c >= 0x80 {
                // Copy a valid UTF-8 sequence, or write U+FFFD for an invalid byte.
                let len = validUTF8SequenceLength(s, at: i)
                if len > 0 {
                    put(UnsafeRawBufferPointer(rebasing: s[i..<(i + len)]))
                    i += len
                } else {
                    put("\u{FFFD}")
                    i += 1
                }
                runStart = i
                continue
            }
            put(UInt8(ascii: "\\"))
            switch c {
            case UInt8(ascii: "\""): put(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): put(UInt8(ascii: "\\"))
            case 0x08: put(UInt8(ascii: "b"))
            case 0x0C: put(UInt8(ascii: "f"))
            case 0x0A: put(UInt8(ascii: "n"))
            case 0x0D: put(UInt8(ascii: "r"))
            case 0x09: put(UInt8(ascii: "t"))
            default:
                let hex: StaticString = "0123456789abcdef"
                put("u00")
                put(hex.utf8Start[Int(c >> 4)])
                put(hex.utf8Start[Int(c & 0xF)])
            }
            i += 1
            runStart = i
        }
        if runStart < n { put(UnsafeRawBufferPointer(rebasing: s[runStart..<n])) }
    }
}

extension JSONWriter {
    /// A member whose nil value is left out, as synthesized `Codable` does (the `Decimal?`
    /// overload is beside the decimal writer).
    public mutating func member(_ name: StaticString, _ value: String?) {
        guard let value else { return }
        key(name)
        string(value)
    }

    /// A member whose nil value is left out, as synthesized `Codable` does.
    public mutating func member(_ name: StaticString, _ value: Int64?) {
        guard let value else { return }
        key(name)
        int(value)
    }

    /// A member whose nil value is left out, as synthesized `Codable` does.
    public mutating func member(_ name: StaticString, _ value: Bool?) {
        guard let value else { return }
        key(name)
        bool(value)
    }
}
