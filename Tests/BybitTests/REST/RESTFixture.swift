import Foundation
import Testing
@testable import Bybit

/// Loads files from `Tests/BybitTests/Fixtures` (relative to this source file).
enum RESTFixture {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    /// Non-empty lines of a `.jsonl` file.
    static func lines(_ name: String) throws -> [[UInt8]] {
        let text = String(decoding: try bytes(name), as: UTF8.self)
        return text.split(separator: "\n").filter { !$0.isEmpty }.map { Array($0.utf8) }
    }

    /// The elements of a `docs_examples/*.json` array, each re-serialised as its own body.
    static func docExamples(_ name: String) throws -> [[UInt8]] {
        let data = try Data(contentsOf: directory.appendingPathComponent("docs_examples").appendingPathComponent(name))
        let array = try #require(try JSONSerialization.jsonObject(with: data) as? [Any])
        return try array.map { Array(try JSONSerialization.data(withJSONObject: $0)) }
    }

    static func decode<T: Decodable & Sendable>(_ type: T.Type, _ bytes: [UInt8]) throws -> RESTResponse<T> {
        try RESTEnvelopeDecoder.decode(type, from: bytes)
    }

    static func dec(_ text: String) -> Decimal { Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))! }
}
