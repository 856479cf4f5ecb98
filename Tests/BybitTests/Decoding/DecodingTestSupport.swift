import Foundation
import Testing
import TradelogCore
@testable import Bybit

/// Fixture access and small helpers shared by the decoder tests.
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    /// The frames of a `.json` (one frame) or `.jsonl` (one per line; `\r\n` tolerated) file.
    static func frames(_ name: String) throws -> [[UInt8]] {
        var all = try bytes(name)
        guard name.hasSuffix(".jsonl") else {
            while let last = all.last, last == 0x0a || last == 0x0d || last == 0x20 { all.removeLast() }
            return [all]
        }
        return all.split(separator: UInt8(ascii: "\n")).map { line in
            var l = Array(line)
            while l.last == UInt8(ascii: "\r") { l.removeLast() }
            return l
        }.filter { !$0.isEmpty }
    }

    /// The examples of a `docs_examples/*.json` file, each as its own (pretty-printed) bytes.
    static func docsExamples(_ name: String) throws -> [[UInt8]] {
        let doc = try JSONDocument(parsing: try bytes("docs_examples/" + name))
        return doc.root.elements.map { Array($0.rawBytes) }
    }

    /// Every file name in the fixtures folder (and `docs_examples/`) matching `prefix`.
    static func names(prefix: String, in subfolder: String = "") throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: directory.appendingPathComponent(subfolder).path)
            .filter { $0.hasPrefix(prefix) }.sorted()
    }
}

/// A fixed receive time: decoding never depends on it except for raw-frame ids.
let receivedAt = Timestamp(microsecondsSinceEpoch: 1_700_000_000_000_000)

extension FrameDecoder {
    /// Decodes every frame, returning all outputs in order.
    mutating func decodeAll(_ frames: [[UInt8]]) -> [FrameOutput] {
        frames.map { decode($0, receivedAt: receivedAt) }
    }

    mutating func decode(_ text: String) -> FrameOutput {
        decode(Array(text.utf8), receivedAt: receivedAt)
    }
}

extension DecodedEvent {
    /// The data parsed back.
    var json: JSONDocument.Value {
        get throws { try JSONDocument(parsing: data).root }
    }

    var text: String { String(decoding: data, as: UTF8.self) }
}

extension JSONDocument.Value {
    subscript(string key: String) -> String? { self[key]?.string }
    subscript(int key: String) -> Int64? { self[key]?.int64 }
    subscript(bool key: String) -> Bool? { self[key]?.bool }
    /// A `[["p","s"], ...]` array as text pairs.
    subscript(levels key: String) -> [[String]] {
        (self[key]?.elements ?? []).map { $0.elements.compactMap(\.string) }
    }
}

/// The registry with every Bybit event type.
let bybitRegistry: EventRegistry = {
    var r = EventRegistry()
    BybitEvents.register(in: &r)
    return r
}()

/// Checks the invariants every decoded event must keep: data is canonical JSON (what
/// `CanonicalJSON` would write), it decodes as its registered payload type, and the stream
/// name is valid.
func expectWellFormed(_ event: DecodedEvent, sourceLocation: SourceLocation = #_sourceLocation) throws {
    #expect(StreamName.problem(with: event.stream) == nil, sourceLocation: sourceLocation)
    let canonical = try CanonicalJSON.canonicalize(event.data)
    #expect(canonical == event.data, "data is not canonical: \(event.text)", sourceLocation: sourceLocation)
    #expect(bybitRegistry.isRegistered(event.type), sourceLocation: sourceLocation)
    _ = try bybitRegistry.decode(type: event.type, schemaVersion: 1, data: event.data)
}

/// The typed payload of an event.
func payload<E: EventPayload>(_ type: E.Type, _ event: DecodedEvent) throws -> E {
    #expect(event.type == E.eventType)
    let any = try bybitRegistry.decode(type: event.type, schemaVersion: E.schemaVersion, data: event.data)
    return try #require(any as? E)
}

func dec(_ text: String) -> Decimal { Decimal(string: text)! }
