extension Duration {
    /// The duration in whole milliseconds (truncated), for C APIs that take an int timeout.
    public var wholeMilliseconds: Int {
        Int(components.seconds) * 1000 + Int(components.attoseconds / 1_000_000_000_000_000)
    }
}
