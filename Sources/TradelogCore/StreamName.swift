/// Stream naming rules: `category-id`, e.g. `order-abc`, `market.orderbook-BTCUSDT`.
public enum StreamName {
    /// The part before the first `-` (the whole name when there is none).
    public static func category(of stream: String) -> String {
        if let dash = stream.utf8.firstIndex(of: UInt8(ascii: "-")) {
            return String(stream[..<dash])
        }
        return stream
    }

    /// Whether `stream`'s category is `category`, without making the category string.
    @inline(__always)
    public static func stream(_ stream: String, hasCategory category: String) -> Bool {
        // Compared over the strings' contiguous bytes (every native string has them).
        if let fast = stream.utf8.withContiguousStorageIfAvailable({ s in
            category.utf8.withContiguousStorageIfAvailable { c -> Bool in
                guard s.count >= c.count else { return false }
                for i in 0..<c.count where s[i] != c[i] { return false }
                return s.count == c.count || s[c.count] == UInt8(ascii: "-")
            }
        }), let answer = fast {
            return answer
        }
        var s = stream.utf8.makeIterator()
        for b in category.utf8 {
            guard s.next() == b else { return false }
        }
        let next = s.next()
        return next == nil || next == UInt8(ascii: "-")
    }

    /// Market-data categories start with `market.`; they are subject to retention.
    /// Everything else (signals, orders, executions, positions, balances, ...) is kept forever.
    public static func isMarketData(category: String) -> Bool {
        category.hasPrefix("market.")
    }

    public static func isMarketData(stream: String) -> Bool {
        isMarketData(category: category(of: stream))
    }

    /// Why a name is not a valid stream name, or nil when it is.
    public static func problem(with stream: String) -> String? {
        if stream.isEmpty { return "stream name is empty" }
        if stream.utf8.count > 200 { return "stream name is longer than 200 bytes" }
        if stream.utf8.first == UInt8(ascii: "-") { return "stream name has an empty category" }
        for b in stream.utf8 where b < 0x20 || b == 0x7f {
            return "stream name contains a control character"
        }
        return nil
    }
}
