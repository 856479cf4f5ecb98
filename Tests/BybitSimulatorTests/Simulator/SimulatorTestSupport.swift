import Foundation
import Testing
@testable import BybitSimulator

/// Fixtures live in `Tests/BybitTests/Fixtures` (copied there with a MANIFEST); tests never read `../shared`.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("BybitTests/Fixtures")

    static func text(_ name: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
    }

    static func lines(_ name: String) throws -> [String] {
        try text(name).split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
    }

    static func json(_ name: String) throws -> Any {
        try JSONSerialization.jsonObject(with: Data(try text(name).utf8))
    }

    /// The n-th element of a docs example file (an array of examples).
    static func docs(_ name: String, _ index: Int = 0) throws -> [String: Any] {
        let all = try json("docs_examples/\(name)") as! [Any]
        return all[index] as! [String: Any]
    }
}

func object(_ text: String) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
}

func object(_ bytes: [UInt8]) -> [String: Any] { object(String(decoding: bytes, as: UTF8.self)) }

func keys(_ o: Any?) -> Set<String> { Set((o as? [String: Any])?.keys.map { $0 } ?? []) }

/// Keys of `data` (an object) or of its first element (an array).
func dataKeys(_ o: [String: Any]) -> Set<String> {
    if let d = o["data"] as? [String: Any] { return Set(d.keys) }
    if let a = o["data"] as? [Any], let first = a.first { return keys(first) }
    return []
}

func fx(_ s: String) -> Fixed { Fixed(s)! }

/// The top-level key order of a JSON object text (JSONSerialization loses it).
func keyOrder(_ text: String) -> [String] {
    JSONNode.parse(text)?.objectValue?.map(\.0) ?? []
}

/// A linear BTCUSDT market with a small fixed book.
func linearMarket(bids: [(String, String)] = [("64990", "1"), ("64980", "2")],
                  asks: [(String, String)] = [("65000", "0.5"), ("65010", "1"), ("65020", "2")]) -> MarketContext {
    let i = SimInstrument.defaults(symbol: "BTCUSDT", category: .linear)
    let book = OrderBook(bids: bids.map { BookLevel(price: fx($0.0), size: fx($0.1)) },
                         asks: asks.map { BookLevel(price: fx($0.0), size: fx($0.1)) })
    return MarketContext(instrument: i, book: book, lastPrice: fx("64995"), markPrice: fx("64995"))
}

func spotMarket() -> MarketContext {
    let i = SimInstrument.defaults(symbol: "BTCUSDT", category: .spot)
    let book = OrderBook(bids: [BookLevel(price: fx("64990"), size: fx("1"))],
                         asks: [BookLevel(price: fx("65000"), size: fx("0.5")), BookLevel(price: fx("65010"), size: fx("1"))])
    return MarketContext(instrument: i, book: book, lastPrice: fx("64995"), markPrice: fx("64995"))
}

func testAccount(usdt: String = "100000", btc: String = "1") -> Account {
    Account(apiKey: "k", uid: 100_000_001, coins: ["USDT": fx(usdt), "BTC": fx(btc)], leverage: 10)
}
