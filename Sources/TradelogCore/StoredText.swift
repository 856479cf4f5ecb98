extension String {
    /// The text with each U+0000 replaced by U+FFFD: PostgreSQL's `text` and `jsonb` refuse U+0000.
    public var storable: String {
        unicodeScalars.contains("\u{0}") ? String(String.UnicodeScalarView(unicodeScalars.map { $0 == "\u{0}" ? "\u{FFFD}" : $0 })) : self
    }
}
