import CLibPQ
import Foundation
import TradelogCore
import Logging
import Synchronization

/// One PostgreSQL connection on libpq, running on its own thread.
///
/// Every method runs on the connection's ``ConnectionThread``: blocking libpq calls never
/// touch the cooperative pool. Use ``withTransaction(_:)`` or ``withConnection(_:)`` to run a
/// synchronous block of several statements on that thread without hopping back and forth.
///
/// The connection is opened lazily and reopened on the next call after the server went away;
/// the call during which it broke fails with ``PGError/Code/connectionLost`` (its outcome
/// is unknown to the caller). `LISTEN` registrations are renewed on reconnect.
public actor PGConnection {
    private let executor: ConnectionThread
    public nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }

    public let settings: PGSettings
    private let logger: Logger
    // nonisolated(unsafe) only so that deinit may close it: by then nothing else holds the
    // actor. (An `isolated deinit` crashes the 6.3 optimizer across modules.)
    private nonisolated(unsafe) var conn: OpaquePointer?
    private var listening: [String] = []
    private var inTransaction = false
    /// The server side of the open connection.
    private var session: ServerSession?
    /// Sessions of this connection that broke during a call: the server may still be running,
    /// and committing, what the call sent (see ``settle(_:timeout:)``). Behind a lock, not the
    /// actor: a reader asks while a long call holds the connection's thread.
    private let lost = Mutex<[ServerSession]>([])
    /// How many times a connection was (re)established; tests read it.
    public private(set) var connectCount = 0

    public init(settings: PGSettings, logger: Logger = Logger(label: "tradelog.postgres")) {
        self.settings = settings
        self.logger = logger
        self.executor = ConnectionThread(name: "pg:\(settings.applicationName)")
    }

    deinit {
        if let conn { PQfinish(conn) }
        executor.shutdown()
    }

    // MARK: connecting

    /// Opens the connection if it is not open (or broke); a no-op otherwise.
    public func connect() throws {
        _ = try handle()
    }

    /// Closes the connection; the next call opens a new one.
    public func close() {
        if let conn { PQfinish(conn) }
        conn = nil
        inTransaction = false
        session = nil
    }

    /// True when the caller runs on this connection's own thread (diagnostics and tests).
    public nonisolated var isOnConnectionThread: Bool { executor.isCurrent }

    /// The backend's process id (for `pg_terminate_backend` in tests and diagnostics).
    public func backendPID() throws -> Int32 {
        PQbackendPID(try handle())
    }

    /// Notes that the open session broke during a call (its outcome unknown to the caller).
    private func noteLost() {
        guard let session else { return }
        lost.withLock { list in
            guard !list.contains(session) else { return }
            // Bounded for a connection nobody settles (the oldest ended long ago).
            if list.count >= 32 { list.removeFirst() }
            list.append(session)
        }
    }

    /// The sessions of this connection that broke during a call and may still be running on
    /// the server: ``settle(_:timeout:)`` them on another connection before trusting a read of
    /// what they wrote, then ``forgetLostSessions(_:)``.
    public nonisolated var lostSessions: [ServerSession] { lost.withLock { $0 } }

    public nonisolated func forgetLostSessions(_ settled: [ServerSession]) {
        lost.withLock { list in list.removeAll { settled.contains($0) } }
    }

    /// Ends each session in `sessions` that still runs on the server (`pg_terminate_backend`)
    /// and waits until none may still commit: whatever they were running is then committed or
    /// rolled back, and a read on any connection sees which. A connection that broke on the
    /// client's side leaves its backend running its statement, and that statement may still
    /// commit after a read of the log missed it.
    ///
    /// A role that may not signal them (another role's, without `pg_signal_backend`) only waits
    /// for those running a statement: an idle one, its client gone, cannot commit anything more.
    /// Throws ``PGError/Code/sessionStillRunning`` when one still runs a statement after `timeout`.
    public func settle(_ sessions: [ServerSession], timeout: Duration = .seconds(10)) throws {
        guard !sessions.isEmpty else { return }
        // pg_stat_activity is read once per transaction: inside one, the wait would never end.
        guard !inTransaction else {
            throw PGError(code: .unexpectedResult, message: "settle runs outside a transaction")
        }
        let pids = "{" + sessions.map { String($0.pid) }.joined(separator: ",") + "}"
        let starts = "{" + sessions.map { String($0.startedMicros) }.joined(separator: ",") + "}"
        let sessionsOf = """
            FROM pg_stat_activity a JOIN unnest($1::int[], $2::bigint[]) AS s(pid, started)
              ON a.pid = s.pid AND \(ServerSession.startedMicrosSQL("a.backend_start")) = s.started
            """
        // Ended ones are waited for until gone (milliseconds; one that looked idle may have
        // been reading a statement); without the right to end them, only those running one.
        let running = "count(*) FILTER (WHERE a.state IS NULL OR a.state NOT LIKE 'idle%')"
        let deadline = ContinuousClock.now + timeout
        var signal = true
        while true {
            let left: Int
            do {
                let sql = signal ? "SELECT count(*), count(pg_terminate_backend(a.pid)) \(sessionsOf)" : "SELECT \(running) \(sessionsOf)"
                left = Int(try query(sql, [pids, starts]).int(0, 0) ?? 0)
            } catch let error as PGError where error.sqlState == "42501" && signal {
                logger.warning("may not end a lost session on the server; waiting for it to end",
                               metadata: ["pg.error": "\(error)"])
                signal = false
                continue
            }
            if left == 0 { return }
            guard ContinuousClock.now < deadline else {
                throw PGError(code: .sessionStillRunning,
                              message: "\(left) session(s) whose connection broke mid-call still run on the server after \(timeout)")
            }
            usleep(10_000)
        }
    }

    private func handle() throws -> OpaquePointer {
        if let conn {
            if inTransaction {
                // Never reconnect silently inside a transaction: its earlier statements are gone.
                guard PQstatus(conn) == CONNECTION_OK else {
                    noteLost()
                    throw PGError(code: .connectionLost, message: "connection lost inside a transaction")
                }
                return conn
            }
            // Reading what is pending (a non-blocking recv) notices a server that went away
            // while the connection sat idle, so a new connection is opened before anything is
            // sent rather than failing a call that never reached the server. Notifications
            // read here stay queued for PQnotifies.
            if Self.isAlive(conn) { return conn }
            PQfinish(conn)
            self.conn = nil
            session = nil
        }
        let keys = ["dbname", "connect_timeout", "application_name"]
        let values = [settings.url, String(settings.connectTimeoutSeconds), settings.applicationName]
        let newConn: OpaquePointer? = withCStrings(keys) { k in
            withCStrings(values) { v in PQconnectdbParams(k, v, 1) }
        }
        guard let newConn else {
            throw PGError(code: .connectionFailed, message: "out of memory creating a connection")
        }
        guard PQstatus(newConn) == CONNECTION_OK else {
            let message = Self.connectionMessage(newConn, url: settings.url)
            PQfinish(newConn)
            throw PGError(code: .connectionFailed, message: message)
        }
        conn = newConn
        connectCount += 1
        do {
            // Server notices ("relation already exists, skipping", ...) are not errors; keep them off stderr.
            PQsetNoticeReceiver(newConn, { _, _ in }, nil)
            // Deterministic text output of times, whatever the server's configuration.
            try simple(newConn, "SET TimeZone = 'UTC'")
            session = try Self.serverSession(newConn)
            for channel in listening {
                try simple(newConn, "LISTEN \(Self.quoteIdentifier(channel))")
            }
        } catch {
            // Half set up: not kept (the next call connects again).
            PQfinish(newConn)
            conn = nil
            session = nil
            throw error
        }
        if connectCount > 1 {
            logger.info("reconnected to PostgreSQL", metadata: ["pg.url": "\(settings.redactedURL)", "pg.connects": "\(connectCount)"])
        }
        return newConn
    }

    /// Reads whatever the server sent while the connection was idle. A server shutting down
    /// sends an error message and then closes, so keep reading while the socket is readable:
    /// the end-of-file after the message is what marks the connection dead.
    private static func isAlive(_ conn: OpaquePointer) -> Bool {
        for _ in 0..<4 {
            guard PQstatus(conn) == CONNECTION_OK, PQconsumeInput(conn) == 1, PQstatus(conn) == CONNECTION_OK else {
                return false
            }
            var fds = pollfd(fd: PQsocket(conn), events: Int16(POLLIN), revents: 0)
            if poll(&fds, 1, 0) <= 0 { return true }
        }
        return PQstatus(conn) == CONNECTION_OK
    }

    /// This connection's backend: its pid, and its start time, which tells it from a later
    /// backend given the same pid (nil when the server does not show it: no lost session of
    /// this connection is then noted).
    private static func serverSession(_ conn: OpaquePointer) throws -> ServerSession? {
        let r = PQexec(conn, "SELECT \(ServerSession.startedMicrosSQL("backend_start")) FROM pg_stat_get_activity(pg_backend_pid())")
        defer { if let r { PQclear(r) } }
        guard let r, PQresultStatus(r) == PGRES_TUPLES_OK else {
            if PQstatus(conn) != CONNECTION_OK { throw PGError(code: .connectionLost, message: "connection lost while connecting") }
            return nil
        }
        guard PQntuples(r) > 0, PQgetisnull(r, 0, 0) == 0, let started = Int64(String(cString: PQgetvalue(r, 0, 0))) else { return nil }
        return ServerSession(pid: PQbackendPID(conn), startedMicros: started)
    }

    private static func connectionMessage(_ conn: OpaquePointer, url: String) -> String {
        // libpq's connection errors name host, port and user, but its errors parsing the
        // connection string quote it, or the piece it could not parse: scrubbed of secrets.
        let raw = String(cString: PQerrorMessage(conn)).trimmingCharacters(in: .whitespacesAndNewlines)
        return raw.isEmpty ? "connection failed" : PGSettings.scrub(raw, url: url)
    }

    private func simple(_ conn: OpaquePointer, _ sql: String) throws {
        let r = PQexec(conn, sql)
        defer { if let r { PQclear(r) } }
        try check(r, conn: conn, accept: [PGRES_COMMAND_OK, PGRES_TUPLES_OK])
    }

    /// Turns a libpq result into a thrown ``PGError`` unless its status is acceptable.
    private func check(_ result: OpaquePointer?, conn: OpaquePointer, accept: [ExecStatusType]) throws {
        guard let result else {
            throw lostOrFailed(conn, fallback: String(cString: PQerrorMessage(conn)))
        }
        let status = PQresultStatus(result)
        if accept.contains(status) { return }
        if status == PGRES_FATAL_ERROR || status == PGRES_NONFATAL_ERROR {
            func field(_ code: Character) -> String? {
                guard let p = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
                return String(cString: p)
            }
            let sqlState = field("C")
            if PQstatus(conn) != CONNECTION_OK {
                noteLost()
                throw PGError(code: .connectionLost, sqlState: sqlState, message: field("M") ?? "connection lost")
            }
            throw PGError(code: .server, sqlState: sqlState, message: field("M") ?? "unknown server error",
                          detail: field("D"), hint: field("H"), constraint: field("n"))
        }
        throw PGError(code: .unexpectedResult, message: "unexpected result status \(String(cString: PQresStatus(status)))")
    }

    private func lostOrFailed(_ conn: OpaquePointer, fallback: String) -> PGError {
        let message = fallback.trimmingCharacters(in: .whitespacesAndNewlines)
        if PQstatus(conn) != CONNECTION_OK {
            noteLost()
            return PGError(code: .connectionLost, message: message.isEmpty ? "connection lost" : message)
        }
        return PGError(code: .unexpectedResult, message: message.isEmpty ? "no result" : message)
    }

    // MARK: queries

    /// Runs one statement with text-format parameters (`$1`, `$2`, ...; `nil` is NULL).
    /// - Parameter binary: ask for binary-format result columns (see ``PGResult``'s binary readers).
    @discardableResult
    public func query(_ sql: String, _ params: [String?] = [], binary: Bool = false) throws -> PGResult {
        try query(sql, parameters: params.map { .text($0) }, binary: binary)
    }

    /// Runs one statement with parameters that may be sent in binary format (see ``PGParameter``).
    @discardableResult
    public func query(_ sql: String, parameters: [PGParameter], binary: Bool = false) throws -> PGResult {
        let conn = try handle()
        var owned: [UnsafeMutableRawPointer?] = []
        defer { owned.forEach { free($0) } }
        var lengths: [Int32] = []
        var formats: [Int32] = []
        owned.reserveCapacity(parameters.count)
        for p in parameters {
            switch p {
            case .text(let value):
                owned.append(value.map { UnsafeMutableRawPointer(strdup($0)) } ?? nil)
                lengths.append(0)
                formats.append(0)
            case .binary(let bytes):
                let buffer = malloc(max(1, bytes.count))!
                bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
                owned.append(buffer)
                lengths.append(Int32(bytes.count))
                formats.append(1)
            }
        }
        let values: [UnsafePointer<CChar>?] = owned.map { $0.map { UnsafePointer($0.assumingMemoryBound(to: CChar.self)) } }
        let result = PQexecParams(conn, sql, Int32(parameters.count), nil, values, lengths, formats, binary ? 1 : 0)
        do {
            try check(result, conn: conn, accept: [PGRES_COMMAND_OK, PGRES_TUPLES_OK])
        } catch {
            if let result { PQclear(result) }
            throw error
        }
        return PGResult(result!)
    }

    /// Runs one statement and copies the text-format rows out (usable from any isolation).
    public func rows(_ sql: String, _ params: [String?] = []) throws -> [[String?]] {
        let r = try query(sql, params)
        return (0..<r.rowCount).map { row in (0..<r.columnCount).map { r.string(row, $0) } }
    }

    /// Runs one statement and returns the first column of the first row as text.
    public func scalar(_ sql: String, _ params: [String?] = []) throws -> String? {
        let r = try query(sql, params)
        return r.rowCount > 0 ? r.string(0, 0) : nil
    }

    /// Runs one statement and returns how many rows it changed.
    @discardableResult
    public func execute(_ sql: String, _ params: [String?] = []) throws -> Int {
        try query(sql, params).affectedRows
    }

    /// Runs a script of several statements (no parameters), e.g. a migration file.
    public func executeScript(_ sql: String) throws {
        let conn = try handle()
        // PQexec returns only the last result; errors stop the script there.
        try simple(conn, sql)
    }

    // MARK: transactions

    /// Runs `body` on the connection's thread inside `BEGIN ... COMMIT`, rolling back when it throws.
    public func withTransaction<T: Sendable>(_ body: @Sendable (isolated PGConnection) throws -> T) throws -> T {
        precondition(!inTransaction, "nested transactions are not supported")
        try simple(try handle(), "BEGIN")
        inTransaction = true
        do {
            let value = try body(self)
            // COMMIT on the transaction's own connection (handle() does not reconnect inside a
            // transaction): on a new session it would commit nothing, and PostgreSQL would only
            // warn, so the caller would take rolled-back work for stored. A connection lost here
            // is thrown as such: the outcome is unknown.
            try simple(try handle(), "COMMIT")
            inTransaction = false
            return value
        } catch {
            inTransaction = false
            if let conn, PQstatus(conn) == CONNECTION_OK {
                let r = PQexec(conn, "ROLLBACK")
                if let r { PQclear(r) }
            }
            throw error
        }
    }

    /// Runs `body` on the connection's thread (several statements without thread hops).
    public func withConnection<T: Sendable>(_ body: @Sendable (isolated PGConnection) throws -> T) rethrows -> T {
        try body(self)
    }

    // MARK: COPY

    /// `COPY ... FROM STDIN` with the whole payload in memory (text or binary format,
    /// as the statement says). Returns the number of rows copied.
    @discardableResult
    public func copyIn(_ sql: String, payload: [UInt8]) throws -> Int {
        let conn = try handle()
        let start = PQexec(conn, sql)
        defer { if let start { PQclear(start) } }
        try check(start, conn: conn, accept: [PGRES_COPY_IN])
        let chunk = 1 << 20
        var offset = 0
        var failure: String?
        payload.withUnsafeBytes { buf in
            while offset < buf.count {
                let n = min(chunk, buf.count - offset)
                let p = buf.baseAddress!.advanced(by: offset).assumingMemoryBound(to: CChar.self)
                if PQputCopyData(conn, p, Int32(n)) != 1 {
                    failure = String(cString: PQerrorMessage(conn))
                    return
                }
                offset += n
            }
        }
        if let failure {
            throw lostOrFailed(conn, fallback: failure)
        }
        guard PQputCopyEnd(conn, nil) == 1 else {
            throw lostOrFailed(conn, fallback: String(cString: PQerrorMessage(conn)))
        }
        var rows = 0
        var firstError: Error?
        while let r = PQgetResult(conn) {
            do {
                try check(r, conn: conn, accept: [PGRES_COMMAND_OK])
                rows = Int(String(cString: PQcmdTuples(r))) ?? 0
            } catch {
                if firstError == nil { firstError = error }
            }
            PQclear(r)
        }
        if let firstError { throw firstError }
        return rows
    }

    /// `COPY ... TO STDOUT`, handing each row (one `CopyData` message) to `onRow`.
    /// Returns the number of rows.
    @discardableResult
    public func copyOut(_ sql: String, onRow: (UnsafeRawBufferPointer) -> Void) throws -> Int {
        let conn = try handle()
        let start = PQexec(conn, sql)
        defer { if let start { PQclear(start) } }
        try check(start, conn: conn, accept: [PGRES_COPY_OUT])
        var rows = 0
        var buffer: UnsafeMutablePointer<CChar>?
        while true {
            let n = PQgetCopyData(conn, &buffer, 0)
            if n > 0, let b = buffer {
                onRow(UnsafeRawBufferPointer(start: b, count: Int(n)))
                PQfreemem(b)
                rows += 1
            } else if n == -1 {
                break
            } else {
                throw lostOrFailed(conn, fallback: String(cString: PQerrorMessage(conn)))
            }
        }
        var firstError: Error?
        while let r = PQgetResult(conn) {
            do { try check(r, conn: conn, accept: [PGRES_COMMAND_OK]) } catch { if firstError == nil { firstError = error } }
            PQclear(r)
        }
        if let firstError { throw firstError }
        return rows
    }

    // MARK: LISTEN / NOTIFY

    /// Subscribes this connection to `channel`; kept across reconnects.
    public func listen(_ channel: String) throws {
        if !listening.contains(channel) { listening.append(channel) }
        try simple(try handle(), "LISTEN \(Self.quoteIdentifier(channel))")
    }

    public func notify(_ channel: String, payload: String) throws {
        try query("SELECT pg_notify($1, $2)", [channel, payload])
    }

    /// Waits up to `timeoutMilliseconds` for notifications and returns those that arrived
    /// (possibly none). Throws ``PGError/Code/connectionLost`` when the connection broke;
    /// notifications sent while it was down are lost, which is why subscribers also poll.
    public func waitForNotifications(timeoutMilliseconds: Int) throws -> [PGNotification] {
        let conn = try handle()
        var out = drainNotifications(conn)
        if !out.isEmpty { return out }
        var fds = pollfd(fd: PQsocket(conn), events: Int16(POLLIN), revents: 0)
        let ready = poll(&fds, 1, Int32(timeoutMilliseconds))
        if ready < 0 && errno != EINTR {
            noteLost()
            throw PGError(code: .connectionLost, message: "poll failed: errno \(errno)")
        }
        if PQconsumeInput(conn) == 0 {
            throw lostOrFailed(conn, fallback: String(cString: PQerrorMessage(conn)))
        }
        out = drainNotifications(conn)
        return out
    }

    private func drainNotifications(_ conn: OpaquePointer) -> [PGNotification] {
        var out: [PGNotification] = []
        while let n = PQnotifies(conn) {
            out.append(PGNotification(
                channel: String(cString: n.pointee.relname),
                payload: String(cString: n.pointee.extra),
                senderPID: n.pointee.be_pid))
            PQfreemem(n)
        }
        return out
    }

    // MARK: helpers

    public static func quoteIdentifier(_ name: String) -> String {
        "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    public static func quoteLiteral(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "'", with: "''") + "'"
    }
}

/// Calls `body` with a NULL-terminated array of C strings.
private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let dup = strings.map { strdup($0) }
    defer { dup.forEach { free($0) } }
    var ptrs: [UnsafePointer<CChar>?] = dup.map { UnsafePointer($0) }
    ptrs.append(nil)
    return ptrs.withUnsafeBufferPointer { body($0.baseAddress!) }
}

/// The server side of a connection: its backend's pid and, telling it from a later backend
/// given the same pid, its start time (`backend_start`, microseconds since the Unix epoch).
public struct ServerSession: Hashable, Sendable {
    public let pid: Int32
    public let startedMicros: Int64

    public init(pid: Int32, startedMicros: Int64) {
        self.pid = pid
        self.startedMicros = startedMicros
    }

    /// A `timestamptz` column as microseconds since the Unix epoch (exact, whatever the
    /// session's DateStyle).
    static func startedMicrosSQL(_ column: String) -> String {
        "(extract(epoch FROM \(column)) * 1000000)::bigint"
    }
}
