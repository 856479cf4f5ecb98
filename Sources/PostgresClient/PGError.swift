/// An error from PostgreSQL or from the connection to it.
///
/// The description carries the SQLSTATE and the server's message; it never contains the
/// connection string, a password or query parameters.
public struct PGError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is. Opaque so that kinds can be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        fileprivate let raw: String
        /// The server could not be reached or refused the connection.
        public static let connectionFailed = Code(raw: "connectionFailed")
        /// The connection broke during a call; the call's outcome is unknown.
        public static let connectionLost = Code(raw: "connectionLost")
        /// The server answered with an error (see ``PGError/sqlState``).
        public static let server = Code(raw: "server")
        /// A `COPY` failed on the client side.
        public static let copyFailed = Code(raw: "copyFailed")
        /// The server answered with something this client did not expect.
        public static let unexpectedResult = Code(raw: "unexpectedResult")
        /// A session whose connection broke mid-call still runs on the server (see
        /// ``PGConnection/settle(_:timeout:)``): what it was doing may still commit.
        public static let sessionStillRunning = Code(raw: "sessionStillRunning")
        public var description: String { raw }
    }

    public var code: Code
    /// The five-character SQLSTATE, when the server sent one (e.g. `23505`).
    public var sqlState: String?
    public var message: String
    public var detail: String?
    public var hint: String?
    /// The constraint an integrity error names (e.g. a unique index), when the server sent one.
    public var constraint: String?

    public init(code: Code, sqlState: String? = nil, message: String, detail: String? = nil, hint: String? = nil,
                constraint: String? = nil) {
        self.code = code
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.hint = hint
        self.constraint = constraint
    }

    public var description: String {
        var s = "PostgreSQL \(code)"
        if let sqlState { s += " [\(sqlState)]" }
        s += ": \(message)"
        if let detail { s += " (\(detail))" }
        if let hint { s += " hint: \(hint)" }
        return s
    }

    /// True when retrying on a new connection makes sense.
    public var isConnectionProblem: Bool {
        if code == .connectionFailed || code == .connectionLost || code == .sessionStillRunning { return true }
        // 08xxx connection exceptions, 57P01..57P03 admin/crash shutdown, cannot connect now.
        if let s = sqlState, s.hasPrefix("08") || s == "57P01" || s == "57P02" || s == "57P03" { return true }
        return false
    }

    public static let uniqueViolation = "23505"
    public static let serializationFailure = "40001"
}
