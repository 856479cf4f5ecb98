import Foundation
import PostgresClient
import Testing
import TradelogTesting

@Suite("PostgreSQL client (real server)")
struct PGConnectionTests {
    @Test("parameters, NULLs and text results")
    func parameters() async throws {
        try await TestDatabase.with(migrate: false) { settings in
            let c = PGConnection(settings: settings)
            let rows = try await c.rows("SELECT $1::int + 1, $2::text, $3::text IS NULL", ["41", "it's \"quoted\"", nil])
            #expect(rows == [["42", "it's \"quoted\"", "t"]])
        }
    }

    @Test("binary results decode int8, int4, uuid, timestamptz and jsonb")
    func binaryDecoding() async throws {
        try await TestDatabase.with(migrate: false) { settings in
            let c = PGConnection(settings: settings)
            let ok = try await c.withConnection { conn -> Bool in
                let r = try conn.query("""
                    SELECT 9007199254740993::int8, (-7)::int4, 'a1b2c3d4-0000-4000-8000-00000000000f'::uuid,
                           '2024-01-02 03:04:05.123456+00'::timestamptz, '{"b": 1, "a": "x"}'::jsonb, NULL::text
                    """, binary: true)
                return r.binaryInt64(0, 0) == 9_007_199_254_740_993
                    && r.binaryInt32(0, 1) == -7
                    && r.binaryUUID(0, 2) == UUID(uuidString: "a1b2c3d4-0000-4000-8000-00000000000f")
                    && r.binaryTimestampMicros(0, 3) == 1_704_164_645_123_456
                    && r.binaryJSONB(0, 4).map { String(decoding: $0, as: UTF8.self) } == #"{"a": "x", "b": 1}"#
                    && r.isNull(0, 5)
            }
            #expect(ok)
        }
    }

    @Test("server errors are typed, with SQLSTATE")
    func typedErrors() async throws {
        try await TestDatabase.with(migrate: false) { settings in
            let c = PGConnection(settings: settings)
            await #expect { try await c.execute("SELEC 1") } throws: { ($0 as? PGError)?.sqlState == "42601" }
            await #expect { try await c.execute("SELECT 'x'::int") } throws: { ($0 as? PGError)?.sqlState == "22P02" }
            try await c.execute("CREATE TABLE u (k int PRIMARY KEY)")
            try await c.execute("INSERT INTO u VALUES (1)")
            await #expect {
                try await c.execute("INSERT INTO u VALUES (1)")
            } throws: { e in
                let e = e as? PGError
                return e?.code == .server && e?.sqlState == PGError.uniqueViolation && e?.detail?.contains("(k)=(1)") == true
            }
            // the connection is still usable after errors
            #expect(try await c.scalar("SELECT 1") == "1")
        }
    }

    @Test("a failed connection says why without the password")
    func connectionFailureHidesSecrets() async throws {
        let secret = "s3cr3t-\(UUID().uuidString.prefix(8))"
        var bad = TestDatabase.baseSettings
        bad.url = bad.url.replacingOccurrences(of: ":tradelog@", with: ":\(secret)@")
        if bad.url == TestDatabase.baseSettings.url {
            bad.url = "postgresql://nobody:\(secret)@127.0.0.1:1/none"
        }
        let c = PGConnection(settings: bad)
        do {
            _ = try await c.scalar("SELECT 1")
            Issue.record("connected with a wrong password")
        } catch let e as PGError {
            #expect(e.code == .connectionFailed)
            #expect(!e.description.contains(secret))
            #expect(!bad.description.contains(secret))
            #expect(bad.redactedURL.contains("***"))
        }
    }

    @Test func settingsRedactionAndDatabaseSwap() {
        let s = PGSettings(url: "postgresql://u:pw@h:5/db?sslmode=disable")
        #expect(s.redactedURL == "postgresql://u:***@h:5/db?sslmode=disable")
        #expect(s.with(database: "other").url == "postgresql://u:pw@h:5/other?sslmode=disable")
        #expect(s.databaseName == "db")
        #expect(PGSettings(url: "postgresql://h").with(database: "x").url == "postgresql://h/x")
        #expect(PGSettings.redact("postgresql://u@h/db?sslmode=require&password=s3cr3t&x=1")
            == "postgresql://u@h/db?sslmode=require&password=***&x=1")
        #expect(PGSettings.redact("host=h password='a b\\'c' dbname=d") == "host=h password=*** dbname=d")
        #expect(PGSettings.redact("host=h PASSWORD=xyz") == "host=h PASSWORD=***")
        #expect(PGSettings.redact("postgresql://u:p%40ss@h:5/db") == "postgresql://u:***@h:5/db")
        #expect(PGSettings.redact("postgresql://h/db") == "postgresql://h/db")
    }

    @Test("a password holding / ? : or @ is redacted up to the last @; password= in any form")
    func trickyRedaction() {
        #expect(PGSettings.redact("postgresql://u:Ab/cd+e=@db/x") == "postgresql://u:***@db/x")
        #expect(PGSettings.redact("postgres://u:a?b@h:5432/db?sslmode=disable") == "postgres://u:***@h:5432/db?sslmode=disable")
        #expect(PGSettings.redact("postgresql://u:p@ss/w:rd?x@h/db") == "postgresql://u:***@h/db")
        #expect(PGSettings.redact("POSTGRESQL://u:x/y@h/db") == "POSTGRESQL://u:***@h/db")
        #expect(PGSettings.redact("postgresql://u:pw@h/db?password=x/y&sslmode=require")
            == "postgresql://u:***@h/db?password=***&sslmode=require")
        #expect(PGSettings.redact("host=h password = 's e' user=u") == "host=h password = *** user=u")
        #expect(PGSettings.redact("host=h password=a&b dbname=d") == "host=h password=*** dbname=d")
        #expect(PGSettings.redact("host=h dbname=d") == "host=h dbname=d")
        // An unquoted keyword/value password with a backslash-escaped space is one value.
        #expect(PGSettings.redact(#"host=h password=my\ secret user=u"#) == "host=h password=*** user=u")
        // A password outside quotes is hidden too, unless the redacted URL shows it as a name.
        #expect(PGSettings.scrub("authentication with s3cr3t-pw failed", url: "postgresql://u:s3cr3t-pw@h/db")
            == "authentication with *** failed")
        // Names the redacted URL shows stay readable, even when the password is the same word.
        #expect(PGSettings.scrub(#"database "tradelog" does not exist"#, url: "postgresql://tradelog:tradelog@h/tradelog")
            == #"database "tradelog" does not exist"#)
        // A quoted piece of the password (libpq took it for a port) and the whole URI are scrubbed.
        let url = "postgresql://u:Ab/cd+e=@db/x"
        #expect(PGSettings.scrub(#"invalid integer value "Ab" for connection option "port""#, url: url)
            == #"invalid integer value "***" for connection option "port""#)
        #expect(PGSettings.scrub("bad URI: \"\(url)\"", url: url) == #"bad URI: "postgresql://u:***@db/x""#)
        #expect(PGSettings.scrub(#"invalid port number: "5432x""#, url: "postgresql://u:pw@h:5432x/d")
            == #"invalid port number: "5432x""#)
    }

    @Test("a connection string libpq cannot parse gives an error without the password")
    func unparsableURLHidesSecrets() async {
        let cases: [(url: String, secrets: [String])] = [
            ("postgresql://u:Ab/cd+e=@db/x", ["Ab", "cd+e="]),
            ("postgresql://u:s3cr3t/pw@[::1/x", ["s3cr3t", "/pw"]),
            ("postgresql://u:p%41ssword-x@[::1/x", ["p%41ssword-x", "pAssword-x"]),
            ("postgresql://u:sec%zzret@127.0.0.1/x", ["sec%zzret"]),
            ("postgresql://u:pw@127.0.0.1/db?password=s3cr3t-q&sslmode=bogus", ["s3cr3t-q"]),
        ]
        for (url, secrets) in cases {
            let c = PGConnection(settings: PGSettings(url: url, connectTimeoutSeconds: 1))
            do {
                _ = try await c.scalar("SELECT 1")
                Issue.record("connected with \(url)")
            } catch let e as PGError {
                #expect(e.code == .connectionFailed)
                for secret in secrets {
                    #expect(!e.description.contains(secret), "\(e) shows \(secret)")
                }
            } catch {
                Issue.record("\(error)")
            }
            await c.close()
        }
    }

    @Test("a transaction rolls back when its body throws")
    func transactionRollback() async throws {
        struct Boom: Error {}
        try await TestDatabase.with(migrate: false) { settings in
            let c = PGConnection(settings: settings)
            try await c.execute("CREATE TABLE t (v int)")
            await #expect(throws: Boom.self) {
                try await c.withTransaction { tx in
                    try tx.execute("INSERT INTO t VALUES (1)")
                    throw Boom()
                }
            }
            _ = try await c.withTransaction { tx in try tx.execute("INSERT INTO t VALUES (2)") }
            #expect(try await c.rows("SELECT v FROM t") == [["2"]])
        }
    }

    @Test("COPY FROM STDIN and COPY TO STDOUT")
    func copy() async throws {
        try await TestDatabase.with(migrate: false) { settings in
            let c = PGConnection(settings: settings)
            try await c.execute("CREATE TABLE t (k int, v text)")
            var payload = ""
            for i in 1...5000 { payload += "\(i)\tvalue \(i)\n" }
            let copied = try await c.copyIn("COPY t FROM STDIN", payload: Array(payload.utf8))
            #expect(copied == 5000)
            let out = try await c.withConnection { conn -> [String] in
                var lines: [String] = []
                try conn.copyOut("COPY (SELECT k, v FROM t WHERE k <= 2 ORDER BY k) TO STDOUT") {
                    lines.append(String(decoding: $0, as: UTF8.self))
                }
                return lines
            }
            #expect(out == ["1\tvalue 1\n", "2\tvalue 2\n"])
            // a bad row fails the whole COPY and the connection stays usable
            await #expect { try await c.copyIn("COPY t FROM STDIN", payload: Array("x\ty\n".utf8)) } throws: {
                ($0 as? PGError)?.sqlState == "22P02"
            }
            #expect(try await c.scalar("SELECT count(*) FROM t") == "5000")
        }
    }

    @Test("LISTEN/NOTIFY, renewed after the connection is killed")
    func listenNotify() async throws {
        try await TestDatabase.with(migrate: false) { settings in
            let listener = PGConnection(settings: settings.with(applicationName: "listener-test"))
            let sender = PGConnection(settings: settings)
            try await listener.listen("chan")
            try await sender.notify("chan", payload: "hello")
            var got: [PGNotification] = []
            for _ in 0..<50 where got.isEmpty {
                got = try await listener.waitForNotifications(timeoutMilliseconds: 100)
            }
            #expect(got.map(\.payload) == ["hello"])

            // Kill the listener's backend: the next wait notices, reconnects and listens again.
            let pid = try await listener.backendPID()
            try await sender.execute("SELECT pg_terminate_backend($1)", [String(pid)])
            for _ in 0..<50 where await listener.connectCount < 2 {
                _ = try? await listener.waitForNotifications(timeoutMilliseconds: 100)
            }
            #expect(await listener.connectCount == 2)
            try await sender.notify("chan", payload: "again")
            got = []
            for _ in 0..<50 where got.isEmpty {
                got = try await listener.waitForNotifications(timeoutMilliseconds: 100)
            }
            #expect(got.map(\.payload) == ["again"])
        }
    }

    @Test("a connection killed while idle is reopened before the next call, which succeeds")
    func reconnect() async throws {
        try await TestDatabase.with(migrate: false) { settings in
            let c = PGConnection(settings: settings)
            let killer = PGConnection(settings: settings)
            let pid = try await c.backendPID()
            try await killer.execute("SELECT pg_terminate_backend($1)", [String(pid)])
            try await Task.sleep(for: .milliseconds(100))  // let the termination reach the socket
            #expect(try await c.scalar("SELECT 1") == "1")
            #expect(try await c.backendPID() != pid)
            #expect(await c.connectCount == 2)
        }
    }

    @Test("a connection killed inside a transaction fails it as a connection problem; nothing commits")
    func lostInsideTransaction() async throws {
        try await TestDatabase.with(migrate: false) { settings in
            let c = PGConnection(settings: settings)
            try await c.execute("CREATE TABLE t (v int)")
            await #expect {
                try await c.withTransaction { tx in
                    try tx.execute("INSERT INTO t VALUES (1)")
                    try tx.execute("SELECT pg_terminate_backend(pg_backend_pid())")
                    try tx.execute("INSERT INTO t VALUES (2)")
                }
            } throws: { ($0 as? PGError)?.isConnectionProblem == true }
            #expect(try await c.scalar("SELECT count(*) FROM t") == "0")
        }
    }

    @Test("a connection killed after the transaction's last statement, before COMMIT: a connection problem, never a COMMIT on a new session")
    func lostBeforeCommit() async throws {
        try await TestDatabase.with(migrate: false) { settings in
            let c = PGConnection(settings: settings)
            try await c.execute("CREATE TABLE t (v int)")
            let pid = try await c.backendPID()
            await #expect {
                try await c.withTransaction { tx in
                    try tx.execute("INSERT INTO t VALUES (1)")
                    // Killed from outside while the transaction is idle, then the body returns.
                    let kill = Process()
                    kill.executableURL = URL(fileURLWithPath: "/usr/bin/env")
                    kill.arguments = ["psql", settings.url, "-Atqc", "SELECT pg_terminate_backend(\(pid))"]
                    try kill.run()
                    kill.waitUntilExit()
                    Thread.sleep(forTimeInterval: 0.2)  // let the termination reach the socket
                }
            } throws: { ($0 as? PGError)?.isConnectionProblem == true }
            #expect(try await c.scalar("SELECT count(*) FROM t") == "0")
        }
    }

    @Test("a statement whose client connection broke still commits on the server, unless its lost session is settled first: then nothing commits later")
    func settleLostSession() async throws {
        try await TestDatabase.with(migrate: false) { settings in
            let other = PGConnection(settings: settings)
            try await TestDatabase.keepStatementsOfLostClients(settings)
            try await other.execute("CREATE TABLE t (v int)")
            /// One autocommit insert that sleeps on the server while the client's socket breaks.
            func lostInsert(_ name: String) async throws -> PGConnection {
                let c = PGConnection(settings: settings.with(applicationName: name))
                try await c.connect()
                let insert = Task { try await c.execute("INSERT INTO t SELECT 1 FROM pg_sleep(4)") }
                #expect(try await TestDatabase.severClient(applicationName: name, waitEvent: "PgSleep", settings: settings))
                await #expect { try await insert.value } throws: { ($0 as? PGError)?.code == .connectionLost }
                return c
            }
            // Not settled: a read now misses the row that commits later.
            let first = try await lostInsert("lost-unsettled")
            #expect(try await other.scalar("SELECT count(*) FROM t") == "0")
            #expect(try await TestDatabase.eventually(timeout: .seconds(10)) { try await other.scalar("SELECT count(*) FROM t") == "1" })
            #expect(first.lostSessions.count == 1)
            // Settling a session that has ended is a no-op.
            try await other.settle(first.lostSessions, timeout: .seconds(1))

            // Settled: the session is ended, and what a read sees then is final.
            let second = try await lostInsert("lost-settled")
            let lost = second.lostSessions
            #expect(lost.count == 1)
            try await other.settle(lost)
            second.forgetLostSessions(lost)
            #expect(second.lostSessions.isEmpty)
            #expect(try await other.scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'lost-settled'") == "0")
            #expect(try await other.scalar("SELECT count(*) FROM t") == "1")
            try await Task.sleep(for: .seconds(5))
            #expect(try await other.scalar("SELECT count(*) FROM t") == "1")
            // The connection reconnects for its next call.
            #expect(try await second.scalar("SELECT 1") == "1")
        }
    }

    @Test("settling a session whose pid a later backend took leaves that backend alone; a lost idle one is ended and gone when settle returns")
    func settleRecycledPID() async throws {
        try await TestDatabase.with(migrate: false) { settings in
            let c = PGConnection(settings: settings.with(applicationName: "settle-target"))
            let other = PGConnection(settings: settings)
            let pid = try await c.backendPID()
            let started = Int64(try #require(try await other.scalar(
                "SELECT (extract(epoch FROM backend_start) * 1000000)::bigint FROM pg_stat_activity WHERE pid = $1", [String(pid)])))!
            try await other.settle([ServerSession(pid: pid, startedMicros: started - 1)])
            #expect(try await c.backendPID() == pid)
            #expect(await c.connectCount == 1)
            #expect(try await c.scalar("SELECT 1") == "1")
            // The same pid and start: the idle session is ended; the connection opens a new one.
            try await other.settle([ServerSession(pid: pid, startedMicros: started)], timeout: .seconds(5))
            #expect(try await other.scalar("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", [String(pid)]) == "0")
            try await Task.sleep(for: .milliseconds(100))  // let the termination reach the socket
            #expect(try await c.scalar("SELECT 1") == "1")
            #expect(await c.connectCount == 2)
        }
    }

    @Test("calls run on the connection's own thread, not the cooperative pool")
    func ownThread() async throws {
        try await TestDatabase.with(migrate: false) { settings in
            let c = PGConnection(settings: settings.with(applicationName: "thread-test"))
            #expect(await c.withConnection { $0.isOnConnectionThread })
            let inTransaction: Bool = try await c.withTransaction { $0.isOnConnectionThread }
            #expect(inTransaction)
            #expect(!c.isOnConnectionThread)
        }
    }
}
