import TradelogCore

/// ISO 8601 / RFC 3339 date-times without Foundation's formatters (pure, locale-free).
///
/// Accepted: `YYYY-MM-DDThh:mm:ss[.f{1,9}][Z|±hh:mm|±hhmm|±hh]` with years 0000–9999, real
/// calendar dates (leap years), hours 00–23, seconds 00–59 (no leap second), offsets up to
/// ±23:59. Without a zone the time is UTC: Python's `datetime.utcnow().isoformat()` writes
/// no zone (a model that writes local time without one is caught by the signal skew check).
/// `t` and `z` may be lower case (RFC 3339 allows it). Fraction digits past the sixth are
/// dropped (rounded down to the microsecond). Everything else is refused: a space instead
/// of `T`, week or ordinal dates, surrounding spaces.
public enum ISOTimestamp {
    /// Longest text considered; anything longer cannot match the grammar.
    static let maxLength = 35

    /// The instant `text` denotes, or nil when it does not follow the grammar above.
    public static func parse(_ text: String) -> Timestamp? {
        var copy = text
        return copy.withUTF8 { parse(UnsafeRawBufferPointer($0)) }
    }

    static func parse(_ s: UnsafeRawBufferPointer) -> Timestamp? {
        let n = s.count
        guard n >= 19, n <= maxLength else { return nil }
        func digits(_ at: Int, _ count: Int) -> Int? {
            guard at + count <= n else { return nil }
            var v = 0
            for k in at..<(at + count) {
                let d = s[k] &- UInt8(ascii: "0")
                guard d < 10 else { return nil }
                v = v * 10 + Int(d)
            }
            return v
        }
        guard let year = digits(0, 4), s[4] == UInt8(ascii: "-"),
              let month = digits(5, 2), s[7] == UInt8(ascii: "-"),
              let day = digits(8, 2), s[10] == UInt8(ascii: "T") || s[10] == UInt8(ascii: "t"),
              let hour = digits(11, 2), s[13] == UInt8(ascii: ":"),
              let minute = digits(14, 2), s[16] == UInt8(ascii: ":"),
              let second = digits(17, 2)
        else { return nil }
        guard (1...12).contains(month), day >= 1, day <= daysInMonth(year: year, month: month),
              hour <= 23, minute <= 59, second <= 59
        else { return nil }
        var i = 19
        var micros = 0
        if i < n, s[i] == UInt8(ascii: ".") {
            i += 1
            let start = i
            while i < n, s[i] &- UInt8(ascii: "0") < 10 { i += 1 }
            let count = i - start
            guard count >= 1, count <= 9 else { return nil }
            for k in 0..<6 {
                micros = micros * 10 + (k < count ? Int(s[start + k] - UInt8(ascii: "0")) : 0)
            }
        }
        var offsetSeconds = 0
        switch i < n ? s[i] : nil {
        case nil:
            break  // no zone: UTC
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            i += 1
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            let sign = s[i] == UInt8(ascii: "-") ? -1 : 1
            guard let oh = digits(i + 1, 2), oh <= 23 else { return nil }
            i += 3
            var om = 0
            if i < n {
                // ±hh:mm or ±hhmm
                if s[i] == UInt8(ascii: ":") { i += 1 }
                guard let m = digits(i, 2), m <= 59 else { return nil }
                om = m
                i += 2
            }
            offsetSeconds = sign * (oh * 3600 + om * 60)
        default:
            return nil
        }
        guard i == n else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return Timestamp(microsecondsSinceEpoch: Int64(seconds) * 1_000_000 + Int64(micros))
    }

    /// `time` as `YYYY-MM-DDThh:mm:ss[.fraction]` followed by `Z` (offset 0) or `±hh:mm`;
    /// `fractionDigits` 0–9 (digits past the sixth are zeros). For samples and tests.
    public static func format(_ time: Timestamp, fractionDigits: Int = 6, offsetMinutes: Int = 0) -> String {
        let local = time.microsecondsSinceEpoch + Int64(offsetMinutes) * 60_000_000
        let (secs, micros) = floorDivide(local, 1_000_000)
        let (days, secOfDay) = floorDivide(secs, 86_400)
        let (y, m, d) = civilFromDays(Int(days))
        func pad(_ v: Int, _ width: Int) -> String {
            let t = String(v)
            return String(repeating: "0", count: max(0, width - t.count)) + t
        }
        var out = "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T"
            + "\(pad(Int(secOfDay / 3600), 2)):\(pad(Int(secOfDay / 60 % 60), 2)):\(pad(Int(secOfDay % 60), 2))"
        let digits = min(max(fractionDigits, 0), 9)
        if digits > 0 {
            let six = pad(Int(micros), 6) + "000"
            out += "." + six.prefix(digits)
        }
        if offsetMinutes == 0 { return out + "Z" }
        let magnitude = abs(offsetMinutes)
        return out + (offsetMinutes < 0 ? "-" : "+") + pad(magnitude / 60, 2) + ":" + pad(magnitude % 60, 2)
    }

    static func isLeap(_ y: Int) -> Bool { y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) }

    static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The inverse of ``daysFromCivil(year:month:day:)``.
    static func civilFromDays(_ z0: Int) -> (year: Int, month: Int, day: Int) {
        let z = z0 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }

    static func floorDivide(_ a: Int64, _ b: Int64) -> (quotient: Int64, remainder: Int64) {
        var q = a / b
        var r = a % b
        if r < 0 {
            q -= 1
            r += b
        }
        return (q, r)
    }
}

/// UUID text: exactly `8-4-4-4-12` hex digits, either case.
enum SignalUUID {
    /// The lower-case form of `text`, or nil when it is not UUID text.
    static func parse(_ text: String) -> String? {
        let bytes = Array(text.utf8)
        guard bytes.count == 36 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(36)
        for (i, c) in bytes.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                guard c == UInt8(ascii: "-") else { return nil }
                out.append(c)
                continue
            }
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"): out.append(c)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): out.append(c + 32)
            default: return nil
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
