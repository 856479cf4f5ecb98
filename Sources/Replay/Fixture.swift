import Bybit
import Foundation
import Recording
import TradelogCore

/// A projection's expected rows: how many, and the digest of their canonical text.
public struct ProjectionFigure: Codable, Sendable, Hashable {
    public var rows: Int
    public var digest: String
    public init(rows: Int, digest: String) {
        self.rows = rows
        self.digest = digest
    }
}

/// `manifest.json` of a bundled session: what it holds and what a replay of it must produce.
public struct FixtureManifest: Codable, Sendable, Hashable {
    public var name: String
    public var description: String
    /// The recording (LZ4 JSON lines) and the settings it was recorded with, relative to the manifest.
    public var recording: String
    public var settings: String
    /// One line per event the replay produces (`position type stream data-sha256-prefix`), for `--verify`.
    public var expectedEvents: String
    public var category: String
    public var symbols: [String]
    public var from: String
    public var to: String
    public var fromMicros: Int64
    public var toMicros: Int64
    /// entries, frames, signals, connects, disconnects, rest, resyncs, requests, fills, events.
    public var counts: [String: Int]
    /// The digest of the events (stream, type, canonical data in order).
    public var digest: String
    public var events: Int
    /// Per projection: rows and digest after the replay.
    public var projections: [String: ProjectionFigure]

    public init(name: String, description: String, recording: String, settings: String, expectedEvents: String,
                category: String, symbols: [String], from: String, to: String, fromMicros: Int64, toMicros: Int64,
                counts: [String: Int], digest: String, events: Int, projections: [String: ProjectionFigure]) {
        self.name = name
        self.description = description
        self.recording = recording
        self.settings = settings
        self.expectedEvents = expectedEvents
        self.category = category
        self.symbols = symbols
        self.from = from
        self.to = to
        self.fromMicros = fromMicros
        self.toMicros = toMicros
        self.counts = counts
        self.digest = digest
        self.events = events
        self.projections = projections
    }
}

/// A bundled session on disk: manifest, recording and settings.
public struct Fixture: Sendable {
    public var manifest: FixtureManifest?
    public var directory: URL
    public var recordingPath: String
    public var settingsPath: String?

    /// `path` is a fixture folder (with `manifest.json`), a manifest file, or a bare recording.
    public static func open(_ path: String) throws -> Fixture {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir) else {
            throw RecordingError(path: path, problem: "no such fixture (give a folder of replay-fixtures/, a manifest.json or a recording)")
        }
        let manifestURL: URL?
        if isDir.boolValue {
            manifestURL = URL(fileURLWithPath: path).appendingPathComponent("manifest.json")
        } else if path.hasSuffix(".json") {
            manifestURL = URL(fileURLWithPath: path)
        } else {
            manifestURL = nil
        }
        guard let manifestURL else {
            let url = URL(fileURLWithPath: path)
            return Fixture(manifest: nil, directory: url.deletingLastPathComponent(), recordingPath: path, settingsPath: nil)
        }
        let data: Data
        do { data = try Data(contentsOf: manifestURL) } catch {
            throw RecordingError(path: manifestURL.path, problem: "cannot read the manifest: \(error.localizedDescription)")
        }
        let manifest: FixtureManifest
        do { manifest = try JSONDecoder().decode(FixtureManifest.self, from: data) } catch {
            throw RecordingError(path: manifestURL.path, problem: "not a fixture manifest: \(error)")
        }
        let dir = manifestURL.deletingLastPathComponent()
        return Fixture(manifest: manifest, directory: dir, recordingPath: dir.appendingPathComponent(manifest.recording).path,
                       settingsPath: dir.appendingPathComponent(manifest.settings).path)
    }

    public func entries() throws -> [RecordEntry] { try RecordingReader(path: recordingPath).entries() }

    /// The recorded settings (defaults when the fixture has none).
    public func settings() throws -> ReplaySettings {
        guard let settingsPath else { return ReplaySettings() }
        return try ReplaySettings.load(path: settingsPath)
    }

    /// The categories whose instruments the order manager loads: the recording's public channels.
    public static func categories(of entries: [RecordEntry]) -> [RESTCategory] {
        var set = Set<String>()
        for e in entries where e.kind == .connect { if let c = e.channel { set.insert(c) } }
        return set.sorted().compactMap { c in c == "private" ? nil : RESTCategory(rawValue: c) }
    }

    public var expectedEventsPath: String? {
        manifest.map { directory.appendingPathComponent($0.expectedEvents).path }
    }
}

/// One line of `expected-events.txt`: enough of an event to name the first that differs.
public enum EventLine {
    /// `n<TAB>type<TAB>stream<TAB>first 16 hex of the canonical data's SHA-256`; `n` counts from 1
    /// in log order (positions of a database log may have gaps).
    public static func line(_ e: RecordedEvent, ordinal: Int) throws -> String {
        let canonical = try CanonicalJSON.canonicalize(e.data)
        return "\(ordinal)\t\(e.type)\t\(e.stream)\t\(Digest.hex(Digest.sha256(canonical)).prefix(16))"
    }

    /// The first index at which `actual` and `expected` differ, with both lines (nil when equal).
    public static func firstDifference(actual: [String], expected: [String]) -> (index: Int, actual: String?, expected: String?)? {
        for i in 0..<max(actual.count, expected.count) {
            let a = i < actual.count ? actual[i] : nil
            let x = i < expected.count ? expected[i] : nil
            if a != x { return (i, a, x) }
        }
        return nil
    }
}
