import Foundation

/// Strict parsing of Bybit's number strings. `Decimal(string:)` accepts a valid prefix
/// (`"12abc"` → 12), so the text is validated first; a malformed value is a decoding error,
/// never a silently wrong number.
enum RESTNumberParsing {
    private static let posix = Locale(identifier: "en_US_POSIX")

    /// `-?digits(.digits)?([eE][+-]?digits)?`, or nil.
    static func decimal(_ text: String) -> Decimal? {
        guard isNumber(text) else { return nil }
        return Decimal(string: text, locale: posix)
    }

    static func int64(_ text: String) -> Int64? {
        Int64(text)
    }

    static func isNumber(_ text: String) -> Bool {
        var bytes = Array(text.utf8)[...]
        if bytes.first == UInt8(ascii: "-") || bytes.first == UInt8(ascii: "+") { bytes = bytes.dropFirst() }
        var intDigits = 0
        while let b = bytes.first, isDigit(b) { intDigits += 1; bytes = bytes.dropFirst() }
        var fracDigits = 0
        if bytes.first == UInt8(ascii: ".") {
            bytes = bytes.dropFirst()
            while let b = bytes.first, isDigit(b) { fracDigits += 1; bytes = bytes.dropFirst() }
        }
        guard intDigits + fracDigits > 0 else { return false }
        if bytes.first == UInt8(ascii: "e") || bytes.first == UInt8(ascii: "E") {
            bytes = bytes.dropFirst()
            if bytes.first == UInt8(ascii: "-") || bytes.first == UInt8(ascii: "+") { bytes = bytes.dropFirst() }
            var expDigits = 0
            while let b = bytes.first, isDigit(b) { expDigits += 1; bytes = bytes.dropFirst() }
            guard expDigits > 0 else { return false }
        }
        return bytes.isEmpty
    }

    private static func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }

    /// Plain decimal text for a request (`Decimal.description` never uses an exponent).
    static func text(_ value: Decimal) -> String {
        value.description
    }
}
