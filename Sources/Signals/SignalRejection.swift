/// Why an inbound signal was refused (ISSUE4's reason codes).
public enum SignalRejectionReason: String, Codable, Hashable, Sendable, CaseIterable {
    /// Not JSON: syntax error, empty body, nesting deeper than 256, invalid UTF-8, or a
    /// key repeated inside one object.
    case invalidJSON = "invalid_json"
    /// JSON, but the root is not an object.
    case notAnObject = "not_an_object"
    /// A required field is absent.
    case missingField = "missing_field"
    /// A field has the wrong JSON type (`null` for a required field counts as mistyped).
    case mistypedField = "mistyped_field"
    /// Right type, unusable value: signal_id not a UUID, timestamp not ISO 8601, asset not
    /// `[A-Z0-9]{1,32}`, empty strategy_id, price ≤ 0, a number beyond exact `Decimal`
    /// range, a string holding U+0000 (PostgreSQL's jsonb cannot store it).
    case invalidField = "invalid_field"
    /// signal_type is not exactly `buy` or `sell`.
    case invalidSignalType = "invalid_signal_type"
    case nonPositiveAmount = "non_positive_amount"
    case confidenceOutOfRange = "confidence_out_of_range"
    /// A well-formed signal whose signal_id is already in the log with a different body.
    case duplicateSignalID = "duplicate_signal_id"
    /// Larger than ``SignalParser/maxBodyBytes``.
    case bodyTooLarge = "body_too_large"
    /// The log refused to store the message as parsed (a content error of PostgreSQL that
    /// the parser did not foresee); the body is kept in base64 and dead-lettered, so one
    /// such message never holds the queue.
    case storageRefused = "storage_refused"
}

/// A refused signal: the reason, the field (JSON path such as `market_data_snapshot.price`)
/// when one is to blame, and a human-readable detail (never empty).
public struct SignalRejection: Error, Hashable, Sendable, Codable, CustomStringConvertible {
    public var reason: SignalRejectionReason
    public var field: String?
    public var detail: String
    /// The body's top-level `signal_id` when it was a string, even an invalid one (lower case
    /// when it is a UUID; otherwise as sent, cut to 128 Unicode scalars).
    public var signalID: String?
    /// The body's top-level `trace_id` when it was a string (cut to 128 Unicode scalars), so
    /// a rejection can still be traced.
    public var traceID: String?

    public init(reason: SignalRejectionReason, field: String? = nil, detail: String,
                signalID: String? = nil, traceID: String? = nil) {
        // Texts echo the body; PostgreSQL (jsonb and text) cannot hold U+0000.
        self.reason = reason
        self.field = field.map(Self.storable)
        self.detail = detail.isEmpty ? reason.rawValue : Self.storable(detail)
        self.signalID = signalID.map(Self.storable)
        self.traceID = traceID.map(Self.storable)
    }

    /// `text` with each U+0000 replaced by U+FFFD.
    static func storable(_ text: String) -> String { text.storable }

    enum CodingKeys: String, CodingKey {
        case reason
        case field
        case detail
        case signalID = "signal_id"
        case traceID = "trace_id"
    }

    public var description: String {
        var s = reason.rawValue
        if let field { s += " (\(field))" }
        return s + ": " + detail
    }

    /// Longest id or trace text kept in a rejection, in Unicode scalars.
    public static let maxEchoedScalars = 128

    /// `text` cut to ``maxEchoedScalars`` scalars (scalars, not characters: one "character"
    /// can hold thousands of combining marks).
    static func echo(_ text: String) -> String {
        let text = storable(text)
        let scalars = text.unicodeScalars
        if scalars.count <= maxEchoedScalars { return text }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars.prefix(maxEchoedScalars))
        return String(out)
    }
}
