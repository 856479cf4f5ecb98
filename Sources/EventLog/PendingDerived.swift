import Logging
import PostgresClient
import TradelogCore

/// What a processor derived from events it has already folded, when appending it failed: its
/// next pass appends these first. So a failed append loses nothing while the processor folds
/// its state in place (folding a copy per batch would copy everything the state remembers).
///
/// A failed retry keeps them when trying again can help: always after a lost or refused
/// connection (the database comes back); never when the log refused the append before the
/// database (``EventLogError/invalidAppend(_:)``); and up to ``serverErrorTries`` tries in all
/// for an error the server returned (a trigger, a full disk, a deadlock). Past that they are
/// given up and handed back for the caller to log and count: a processor stuck for good on an
/// append that cannot succeed would stop everything after it.
public struct PendingDerived<Element: Sendable>: Sendable {
    public static var serverErrorTries: Int { 10 }

    public private(set) var events: [Element] = []
    /// Failed appends of `events` so far.
    public private(set) var tries = 0

    public init() {}

    public var isEmpty: Bool { events.isEmpty }

    /// The first append of `events` failed.
    public mutating func failed(_ events: [Element]) {
        self.events = events
        tries = 1
    }

    /// The retry stored them.
    public mutating func stored() {
        events = []
        tries = 0
    }

    /// The retry failed with `error`: nil when they are kept for another try (the caller
    /// rethrows), else the events given up (now cleared), logged at error level with their
    /// types (`type`): the log lacks them until a restart folds their causes again.
    public mutating func retryFailed(_ error: any Error, logger: Logger, type: (Element) -> String) -> [Element]? {
        tries += 1
        if Self.worthRetrying(error, tries: tries) { return nil }
        logger.error("derived events given up after failed appends; a restart derives them again", metadata: [
            "count": "\(events.count)", "types": "\(Set(events.map(type)).sorted())", "tries": "\(tries)", "error": "\(error)",
        ])
        defer { stored() }
        return events
    }

    /// Whether an append that failed `tries` times, the last with `error`, may succeed unchanged.
    public static func worthRetrying(_ error: any Error, tries: Int) -> Bool {
        if error is CancellationError { return true }
        if let e = error as? EventLogError, case .invalidAppend = e { return false }
        if let e = error as? PGError, e.code == .connectionFailed || e.code == .connectionLost { return true }
        return tries < serverErrorTries
    }
}
