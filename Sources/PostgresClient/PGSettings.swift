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

    public static func redact(_ url: String) -> String {
        guard let scheme = url.range(of: "://") else { return url }
        let rest = url[scheme.upperBound...]
        guard let at = rest.lastIndex(of: "@") else { return url }
        let userinfo = rest[..<at]
        guard let colon = userinfo.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(rest[at...])
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
