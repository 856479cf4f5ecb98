import Foundation
import Logging
import PostgresClient
import TradelogCore

extension PGError {
    /// Whether the server refused the statement for the data it carries: a data exception
    /// (class 22: malformed JSON, a value out of range, bad text), an integrity violation other
    /// than a unique key (class 23: a check or not-null constraint; a row no partition takes
    /// aside), or a program limit (class 54: a row too large). Retrying the same rows fails the
    /// same way. Anything else (the connection, the server's resources, locks, a trigger's
    /// exception) may pass next time.
    public var refusesData: Bool {
        guard code == .server, let s = sqlState else { return false }
        if s == PGError.uniqueViolation { return false }
        // A row no partition takes (23514 too, but without a constraint) is the log's set-up,
        // not the event's data.
        if s == "23514", constraint == nil { return false }
        return s.hasPrefix("22") || s.hasPrefix("23") || s.hasPrefix("54")
    }
}

/// What ``EventLog/appendDerived(_:refusals:source:)`` did with each event.
public struct DerivedAppendResult: Sendable, Equatable {
    /// One per input event, in input order: nil for an event the log refused (a
    /// ``EventRefused`` stands in its place).
    public var outcomes: [AppendOutcome?]
    /// The refusals stored, in input order.
    public var refused: [EventRefused]

    public var appendedCount: Int { outcomes.filter { $0?.isAppended == true }.count }
}

extension EventLog {
    /// Appends the events a processor's fold derived, `(stream, event)` in fold order: all in
    /// one append (consecutive events of a stream together) when the log takes them.
    ///
    /// When the log refuses the batch for its contents (``PGError/refusesData``, or an invalid
    /// stream name), the events go one by one, in order: each one refused on its own is
    /// replaced by an ``EventRefused`` in stream `refusals` (its id derived from the
    /// refused event's, so a retry stores nothing twice) and logged as an error; the others are
    /// stored. Any other failure is thrown and nothing is refused: the caller keeps the events
    /// and retries (events stored before it are duplicates on the retry, as their ids repeat).
    public func appendDerived(_ derived: [(stream: String, event: NewEvent)], refusals: String,
                              source: String) async throws -> DerivedAppendResult {
        do {
            let result = try await append(StreamAppend.runs(derived))
            return DerivedAppendResult(outcomes: result.outcomes, refused: [])
        } catch let error where Self.refusesData(error) {
            logger.warning("the log refused a batch of derived events; appending them one by one",
                           metadata: ["events": "\(derived.count)", "error": "\(error)"])
        }
        var out = DerivedAppendResult(outcomes: [], refused: [])
        for d in derived {
            switch try await appendAlone(d.event, to: d.stream, refusals: refusals, source: source) {
            case .stored(let result):
                out.outcomes.append(result.outcomes[0])
            case .refused(let refusal):
                out.outcomes.append(nil)
                out.refused.append(refusal)
            }
        }
        return out
    }

    /// What ``appendAlone(_:to:refusals:source:)`` did with its event.
    public enum AloneOutcome: Sendable {
        case stored(AppendResult)
        /// Refused for its contents; this ``EventRefused`` was recorded in its place.
        case refused(EventRefused)
    }

    /// Appends one event on its own; when the log refuses it for its contents, records an
    /// ``EventRefused`` in stream `refusals` instead (``recordRefusal(of:in:error:refusals:source:)``).
    /// Any other failure is thrown.
    public func appendAlone(_ event: NewEvent, to stream: String, refusals: String, source: String) async throws -> AloneOutcome {
        do {
            return .stored(try await append([StreamAppend(stream: stream, events: [event])]))
        } catch let error where Self.refusesData(error) {
            return .refused(try await recordRefusal(of: event, in: stream, error: error, refusals: refusals, source: source))
        }
    }

    /// Records that the log refused `event` (of `stream`) for its contents: an ``EventRefused``
    /// in stream `refusals`, its id derived from the refused event's (stored once however often
    /// it is recorded), and an error in the log.
    @discardableResult
    public func recordRefusal(of event: NewEvent, in stream: String, error: any Error, refusals: String,
                              source: String) async throws -> EventRefused {
        let refusal = EventRefused(eventID: event.eventID, stream: stream, type: event.type,
                                   sqlState: (error as? PGError)?.sqlState, reason: Self.reason(error))
        let id = DeterministicID.derived(from: event.eventID.lowercasedString, kind: "refused")
        let record = try NewEvent(eventID: id, payload: refusal,
                                  metadata: EventMetadata(correlationID: event.metadata.correlationID,
                                                          causationID: event.eventID.lowercasedString, source: source,
                                                          receiveTime: event.metadata.receiveTime))
        _ = try await append(to: refusals, [record])
        logger.error("the log refused an event; an EventRefused stands in its place",
                     metadata: ["event_id": "\(event.eventID)", "stream": "\(stream)", "type": "\(event.type)",
                                "refusals": "\(refusals)", "error": "\(refusal.reason)"])
        return refusal
    }

    /// Whether an append failed for the data it carries (``PGError/refusesData``, or the log's
    /// own checks: an invalid stream name, an empty type or data): the same append fails again.
    public static func refusesData(_ error: any Error) -> Bool {
        if let pg = error as? PGError { return pg.refusesData }
        if case .invalidAppend = error as? EventLogError { return true }
        return false
    }

    static func reason(_ error: any Error) -> String {
        if let pg = error as? PGError { return pg.message }
        return "\(error)"
    }
}
