import Foundation
import Testing

/// DESIGN invariant 5: processors and projections are pure folds. Besides the replays that give
/// the manifests' digests, their sources are searched for what would make them depend on the
/// machine: the wall clock, a timer, random numbers or ids, the environment.
@Suite("Determinism of the folds' sources")
struct DeterminismSourceTests {
    /// The repository's root: where `swift test` runs (the package's folder), else from this
    /// file's place in it when it was built (Tests/TradelogCoreTests/).
    static let root: URL = {
        let cwd = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        if FileManager.default.fileExists(atPath: cwd.appendingPathComponent("Sources/OrderManagerCore").path) { return cwd }
        return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }()

    /// The decoders, the folds, the deciders and risk rules, the projections' row writers, the
    /// replay, and the simulator's matching engine and replayed market (a replay runs them too).
    static let pure = [
        "Sources/Bybit/Decoding", "Sources/Bybit/JSON", "Sources/OrderManagerCore", "Sources/PositionManagerCore",
        "Sources/Signals", "Sources/Replay", "Sources/Projections", "Sources/BybitSimulator/Exchange",
        "Sources/BybitSimulator/Market", "Sources/EventLog/CategoryStatsProjection.swift",
        "Sources/OrderManager/OrderProjections.swift", "Sources/PositionManager/PositionProjections.swift",
    ]

    /// Files that time themselves for pacing or progress only (never for what they produce).
    static let pacing: Set<String> = ["Sources/Replay/ReplayRunner.swift", "Sources/Projections/ProjectionRebuilder.swift"]

    static let forbidden = [
        "Date()", "Date.now", "Date(timeIntervalSinceNow", "UUID()", ".random(", "SystemRandomNumberGenerator", "Timestamp.now()",
        "ProcessInfo", "DispatchTime", "gettimeofday", "clock_gettime", "CFAbsoluteTime", "arc4random",
    ]

    static func swiftFiles(_ path: String) -> [String] {
        let url = root.appendingPathComponent(path)
        if path.hasSuffix(".swift") { return [path] }
        let names = FileManager.default.enumerator(atPath: url.path)?.compactMap { $0 as? String } ?? []
        return names.filter { $0.hasSuffix(".swift") }.sorted().map { "\(path)/\($0)" }
    }

    @Test("no wall clock, timer, random number, random id or environment read in the folds' sources")
    func noClockOrRandomness() throws {
        var files: [String] = []
        for p in Self.pure { files += Self.swiftFiles(p) }
        #expect(files.count > 50, "the sources were found under \(Self.root.path)")
        var found: [String] = []
        for file in files {
            let text = try String(contentsOf: Self.root.appendingPathComponent(file), encoding: .utf8)
            for (n, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                let code = line.components(separatedBy: "//").first ?? ""
                for token in Self.forbidden where code.contains(token) {
                    found.append("\(file):\(n + 1): \(token)")
                }
                if !Self.pacing.contains(file), code.contains("ContinuousClock") || code.contains("SuspendingClock") {
                    found.append("\(file):\(n + 1): a clock")
                }
            }
        }
        #expect(found.isEmpty, "\(found.joined(separator: "\n"))")
    }
}
