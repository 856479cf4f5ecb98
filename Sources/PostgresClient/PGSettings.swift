import Foundation

/// Where and how to connect: a libpq connection URI, from `DATABASE_URL` by default.
public struct PGSettings: Sendable, CustomStringConvertible {
    public static let defaultURL = "postgresql://tradelog:tradelog@127.0.0.1:5432/tradelog"

    public var url: String
    /// Shown in `pg_stat_activity`, handy to find a service's connections.
    public var applicationName: String
    public var connectTimeoutSeconds: Int

    public init(url: String, applicationName: String = "tradelog", connectTimeoutSeconds: Int = 5) {
        self.url = url
        self.applicationName = applicationName
        self.connectTimeoutSeconds = connectTimeoutSeconds
    }

    /// `DATABASE_URL` from the environment, or the local default that `scripts/servers.sh` sets up.
    public static func fromEnvironment(applicationName: String = "tradelog") -> PGSettings {
        let env = ProcessInfo.processInfo.environment["DATABASE_URL"]
        return PGSettings(url: (env?.isEmpty == false ? env! : defaultURL), applicationName: applicationName)
    }

    public func with(applicationName: String) -> PGSettings {
        var s = self
        s.applicationName = applicationName
        return s
    }

    /// The URL with any password replaced, safe to log.
    public var redactedURL: String { PGSettings.redact(url) }

    public var description: String { redactedURL }

    /// Hides passwords in every form libpq accepts: `user:secret@` in a URI, `password=` in
    /// its query string, and `password=` in keyword/value strings (quoted or not).
    public static func redact(_ url: String) -> String {
        var out = url
        if let scheme = out.range(of: "://") {
            let rest = out[scheme.upperBound...]
            let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                out = String(out[..<colon]) + ":***" + String(out[at...])
            }
        }
        // password=... up to '&' or whitespace, or a single-quoted value
        var result = ""
        var rest = Substring(out)
        while let r = rest.range(of: "password=", options: .caseInsensitive) {
            result += rest[..<r.upperBound] + "***"
            var tail = rest[r.upperBound...]
            if tail.first == "'" {
                tail = tail.dropFirst()
                var escaped = false
                while let c = tail.first {
                    tail = tail.dropFirst()
                    if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "'" { break }
                }
            } else {
                tail = tail.drop(while: { $0 != "&" && !$0.isWhitespace })
            }
            rest = tail
        }
        return result + rest
    }
}

extension PGSettings {
    /// The same server and credentials, another database (URI form only).
    public func with(database: String) -> PGSettings {
        var s = self
        guard let scheme = url.range(of: "://") else {
            // keyword/value form: a later dbname wins
            s.url = url + " dbname=\(database)"
            return s
        }
        let afterScheme = url[scheme.upperBound...]
        let query = afterScheme.firstIndex(of: "?")
        let authorityEnd = afterScheme[..<(query ?? afterScheme.endIndex)].firstIndex(of: "/") ?? (query ?? afterScheme.endIndex)
        s.url = String(url[..<authorityEnd]) + "/" + database + (query.map { String(url[$0...]) } ?? "")
        return s
    }

    /// The database name of a URI (nil when it has none).
    public var databaseName: String? {
        guard let scheme = url.range(of: "://") else { return nil }
        let afterScheme = url[scheme.upperBound...]
        let noQuery = afterScheme[..<(afterScheme.firstIndex(of: "?") ?? afterScheme.endIndex)]
        guard let slash = noQuery.firstIndex(of: "/") else { return nil }
        let name = noQuery[noQuery.index(after: slash)...]
        return name.isEmpty ? nil : String(name)
    }
}
