import Bybit
import Foundation
import OrderManagerCore
import Testing

/// Instrument rules decoded from the copied REST fixtures (`../Fixtures`).
enum SizingFixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    /// The rules of `symbol` in the instruments-info fixture `file`.
    static func rules(_ file: String, _ category: RESTCategory, _ symbol: String) throws -> InstrumentRules {
        let bytes = Array(try Data(contentsOf: directory.appendingPathComponent(file)))
        let page = try RESTEnvelopeDecoder.decode(RESTPage<RESTInstrument>.self, from: bytes).result
        let instrument = try #require(page.list.first { $0.symbol == symbol })
        return try #require(InstrumentRules(category: category, instrument))
    }

    /// Linear BTCUSDT with `maxMktOrderQty` 500 and `minNotionalValue` 5.
    static func linearBTC() throws -> InstrumentRules {
        try rules("http_instruments_info_linear_btcusdt_2023.json", .linear, "BTCUSDT")
    }

    /// Linear BTCUSDT (2023-12) without `maxMktOrderQty` / `minNotionalValue`.
    static func linearBTCPlain() throws -> InstrumentRules {
        try rules("http_instruments_info_linear_2023.json", .linear, "BTCUSDT")
    }

    static func spotBTC() throws -> InstrumentRules { try rules("http_instruments_info_spot_2023.json", .spot, "BTCUSDT") }
    static func spotETH() throws -> InstrumentRules { try rules("http_instruments_info_spot_2023.json", .spot, "ETHUSDT") }
}

extension SizingFixtures {
    /// A decimal from its text (exact, unlike a float literal).
    static func dec(_ text: String) -> Decimal { Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))! }
}

extension Result where Success == SizedOrder, Failure == SizingRefusal {
    /// The sized order, nil on refusal.
    var sized: SizedOrder? { if case .success(let s) = self { s } else { nil } }
    /// The refusal, nil on success.
    var refusal: SizingRefusal? { if case .failure(let f) = self { f } else { nil } }
}
