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
    ///
    /// The userinfo of a `postgresql://` or `postgres://` URI ends at the LAST `@`: a password
    /// may hold `/`, `?`, `:` or `@` unencoded (libpq then misparses it, but it must still
    /// never be shown). An `@` in the query string makes this hide the host too; safe side.
    public static func redact(_ url: String) -> String {
        var out = url
        if let userinfo = uriUserinfo(url), let colon = url[userinfo].firstIndex(of: ":") {
            out = String(url[..<colon]) + ":***" + String(url[userinfo.upperBound...])
        }
        var result = ""
        var rest = Substring(out)
        let uri = isURI(out)
        while let value = nextPasswordValue(in: rest, uri: uri) {
            result += rest[..<value.lowerBound] + "***"
            rest = rest[value.upperBound...]
        }
        return result + rest
    }

    /// Scrubs a message (a libpq connection error quotes all or part of the connection
    /// string) of the URL and its passwords: the raw URL becomes the redacted one, a password
    /// (4 characters or more) anywhere becomes `***` unless the redacted URL shows the same
    /// text as a name, and a quoted piece becomes `***` when it is (part of) a password, as written or
    /// percent-decoded, or a piece of the raw URL, and the redacted URL does not show it (a
    /// fragment of a password libpq took for a port, say). Text outside quotes, and names the
    /// redacted URL shows (user, host, database), stay readable.
    public static func scrub(_ message: String, url: String) -> String {
        guard !url.isEmpty else { return message }
        let redacted = redact(url)
        var out = message.replacingOccurrences(of: url, with: redacted)
        let trimmed = url.trimmingCharacters(in: .whitespacesAndNewlines)
        if !trimmed.isEmpty, trimmed != url { out = out.replacingOccurrences(of: trimmed, with: redact(trimmed)) }
        let secrets = passwords(in: url)
        // A password anywhere, unless it is also a name the redacted URL shows (a user or a
        // database named like it: hiding those would make the message useless, and they show).
        for secret in secrets.sorted(by: { $0.count > $1.count }) where secret.count >= 4 && !redacted.contains(secret) {
            out = out.replacingOccurrences(of: secret, with: "***")
        }
        var result = ""
        var rest = Substring(out)
        while let open = rest.firstIndex(of: "\""),
              let close = rest[rest.index(after: open)...].firstIndex(of: "\"") {
            let quoted = rest[rest.index(after: open)..<close]
            result += rest[...open]
            if !quoted.isEmpty, url.contains(quoted) || secrets.contains(where: { $0.contains(quoted) }), !redacted.contains(quoted) {
                result += "***"
            } else {
                result += quoted
            }
            result += "\""
            rest = rest[rest.index(after: close)...]
        }
        return result + rest
    }

    /// The passwords a connection string holds, as written and percent-decoded.
    static func passwords(in url: String) -> [String] {
        var found: [String] = []
        func add(_ s: Substring) {
            guard !s.isEmpty else { return }
            found.append(String(s))
            if let decoded = s.removingPercentEncoding, decoded != String(s) { found.append(decoded) }
        }
        if let userinfo = uriUserinfo(url), let colon = url[userinfo].firstIndex(of: ":") {
            add(url[url.index(after: colon)..<userinfo.upperBound])
        }
        var rest = Substring(url)
        let uri = isURI(url)
        while let value = nextPasswordValue(in: rest, uri: uri) {
            var v = rest[value]
            if v.first == "'" {
                v = v.dropFirst()
                if v.last == "'" { v = v.dropLast() }
                add(v)
                let unescaped = String(v).replacingOccurrences(of: "\\'", with: "'").replacingOccurrences(of: "\\\\", with: "\\")
                if unescaped != String(v) { found.append(unescaped) }
            } else {
                add(v)
            }
            rest = rest[value.upperBound...]
        }
        return found
    }

    private static let uriSchemes = ["postgresql://", "postgres://"]

    private static func isURI(_ s: String) -> Bool {
        let t = s.drop(while: { $0.isWhitespace })
        return uriSchemes.contains { t.range(of: $0, options: [.anchored, .caseInsensitive]) != nil }
    }

    /// The userinfo of a postgresql:// URI (anywhere in the string: libpq also expands one
    /// given as `dbname=`), up to the last `@`, without the `@`.
    private static func uriUserinfo(_ url: String) -> Range<String.Index>? {
        let starts = uriSchemes.compactMap { url.range(of: $0, options: .caseInsensitive) }
        guard let scheme = starts.min(by: { $0.lowerBound < $1.lowerBound }) else { return nil }
        guard let at = url[scheme.upperBound...].lastIndex(of: "@") else { return nil }
        return scheme.upperBound..<at
    }

    /// The next `password=` value (`password = value` in keyword/value strings): a quoted
    /// value with its quotes; unquoted, up to `&` in a URI, up to whitespace otherwise.
    private static func nextPasswordValue(in text: Substring, uri: Bool) -> Range<String.Index>? {
        var search = text
        while let r = search.range(of: "password", options: .caseInsensitive) {
            var i = r.upperBound
            while i < text.endIndex, text[i] == " " || text[i] == "\t" || text[i] == "\n" { i = text.index(after: i) }
            guard i < text.endIndex, text[i] == "=" else {
                search = text[r.upperBound...]
                continue
            }
            i = text.index(after: i)
            if !uri {
                while i < text.endIndex, text[i].isWhitespace { i = text.index(after: i) }
            }
            let start = i
            if i < text.endIndex, text[i] == "'" {
                i = text.index(after: i)
                var escaped = false
                while i < text.endIndex {
                    let c = text[i]
                    i = text.index(after: i)
                    if escaped { escaped = false } else if c == "\\" { escaped = true } else if c == "'" { break }
                }
            } else if uri {
                while i < text.endIndex, text[i] != "&" { i = text.index(after: i) }
            } else {
                // Unquoted keyword/value: a backslash escapes the next character (`my\ secret`).
                while i < text.endIndex, !text[i].isWhitespace {
                    if text[i] == "\\", text.index(after: i) < text.endIndex { i = text.index(after: i) }
                    i = text.index(after: i)
                }
            }
            return start..<i
        }
        return nil
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
