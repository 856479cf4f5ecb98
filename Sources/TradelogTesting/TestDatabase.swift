import EventLog
import Foundation
import PostgresClient

/// Integration-test harness: each test gets a database of its own on the real server
/// (`DATABASE_URL`, else the local default), migrated from the repository's `schema/`,
/// dropped afterwards. Tests can therefore run in parallel without seeing each other's log.
public enum TestDatabase {
    public static var baseSettings: PGSettings { PGSettings.fromEnvironment(applicationName: "tradelog-tests") }

    /// The repository root (found from this file's path, so it works from any directory).
    public static var repositoryRoot: URL {
        URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    public static var schemaDirectory: URL { repositoryRoot.appendingPathComponent("schema") }
    public static var projectionsDirectory: URL { repositoryRoot.appendingPathComponent("projections") }

    /// Creates a fresh database (migrated unless `migrate` is false), runs `body`, drops it.
    public static func with<T: Sendable>(
        migrate: Bool = true, _ body: (PGSettings) async throws -> T
    ) async throws -> T {
        let admin = PGConnection(settings: baseSettings)
        let name = "tradelog_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        try await admin.execute("CREATE DATABASE \(PGConnection.quoteIdentifier(name))")
        let settings = baseSettings.with(database: name)
        do {
            if migrate {
                try await Migrator(directory: schemaDirectory).migrate(on: PGConnection(settings: settings))
            }
            let value = try await body(settings)
            await drop(name, admin)
            return value
        } catch {
            await drop(name, admin)
            throw error
        }
    }

    /// Best effort: `WITH (FORCE)` cannot end an autovacuum worker that is busy in the
    /// database (it runs as a superuser), so wait for it a little; a database left behind
    /// costs disk, not correctness.
    private static func drop(_ name: String, _ admin: PGConnection) async {
        for attempt in 0..<20 {
            do {
                try await admin.execute("DROP DATABASE IF EXISTS \(PGConnection.quoteIdentifier(name)) WITH (FORCE)")
                break
            } catch {
                if attempt == 19 { print("warning: test database \(name) left behind: \(error)") }
                try? await Task.sleep(for: .milliseconds(250))
            }
        }
        await admin.close()
    }

    /// Polls `condition` every 10 ms until it holds or `timeout` passes.
    public static func eventually(
        timeout: Duration = .seconds(30), _ condition: () async throws -> Bool
    ) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return try await condition()
    }

    /// Where `swift build` put the `tradelog` executable next to the running test bundle.
    public static var tradelogExecutable: URL {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("tradelog")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir.deleteLastPathComponent()
        }
        return repositoryRoot.appendingPathComponent(".build/debug/tradelog")
    }

    /// Makes the test database's new sessions finish a statement whose client went away, as a
    /// server does by default (`client_connection_check_interval` = 0): the case the lost-session
    /// tests are about, whatever the server's configuration.
    public static func keepStatementsOfLostClients(_ settings: PGSettings) async throws {
        let admin = PGConnection(settings: settings)
        defer { Task { await admin.close() } }
        try await admin.execute("""
            DO $$ BEGIN
                EXECUTE format('ALTER DATABASE %I SET client_connection_check_interval = 0', current_database());
            END $$
            """)
    }

    /// Breaks this process's end of a TCP connection to the server whose backend is named
    /// `applicationName` and waits in `waitEvent` (e.g. `PgSleep`): the client sees the
    /// connection lost while the backend goes on running its statement, as after a network
    /// failure. Returns false when no such backend appeared within `timeout`, or when it is
    /// not a TCP connection (a Unix socket: these tests need a TCP `DATABASE_URL`).
    public static func severClient(applicationName: String, waitEvent: String, settings: PGSettings,
                                   timeout: Duration = .seconds(10)) async throws -> Bool {
        let admin = PGConnection(settings: settings)
        defer { Task { await admin.close() } }
        var port: Int32?
        _ = try await eventually(timeout: timeout) {
            port = try await admin.scalar(
                "SELECT client_port FROM pg_stat_activity WHERE application_name = $1 AND wait_event = $2",
                [applicationName, waitEvent]).flatMap { Int32($0) }
            return port != nil
        }
        guard let port, port > 0 else { return false }
        // The socket of this process whose local port is the backend's client port (IPv4 or IPv6).
        for fd in Int32(0)..<Int32(4096) {
            var address = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let named = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
            }
            guard named == 0 else { continue }
            let local: UInt16
            switch Int32(address.ss_family) {
            case AF_INET:
                local = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_port } }
            case AF_INET6:
                local = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_port } }
            default:
                continue
            }
            guard Int32(UInt16(bigEndian: local)) == port else { continue }
            return shutdown(fd, Int32(SHUT_RDWR)) == 0
        }
        return false
    }
}
