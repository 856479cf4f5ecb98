/// The rate-limit headers of one response (reference §2.9).
public struct RESTRateLimitStatus: Sendable, Hashable {
    /// `X-Bapi-Limit-Status`: requests left in the current window.
    public var remaining: Int
    /// `X-Bapi-Limit`: the window's size, when sent.
    public var limit: Int?
    /// `X-Bapi-Limit-Reset-Timestamp`: when the budget refills (server ms).
    public var resetAtMs: Int64

    public init(remaining: Int, limit: Int?, resetAtMs: Int64) {
        self.remaining = remaining
        self.limit = limit
        self.resetAtMs = resetAtMs
    }

    public static let remainingHeader = "X-Bapi-Limit-Status"
    public static let limitHeader = "X-Bapi-Limit"
    public static let resetHeader = "X-Bapi-Limit-Reset-Timestamp"

    /// Reads the headers (names case-insensitive); nil unless remaining and reset are present.
    public init?(headers: [RESTHeader]) {
        func value(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value.trimmingWhitespace
        }
        guard let remainingText = value(Self.remainingHeader), let remaining = Int(remainingText),
              let resetText = value(Self.resetHeader), let reset = Int64(resetText) else { return nil }
        self.init(remaining: remaining, limit: value(Self.limitHeader).flatMap { Int($0) }, resetAtMs: reset)
    }
}

extension String {
    fileprivate var trimmingWhitespace: String {
        String(self.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
    }
}

/// Admission control for REST requests as a pure state machine: time is passed in (server
/// ms, i.e. local clock + offset, because reset timestamps are Bybit's), nothing sleeps.
///
/// Each `RESTRateLimitGroup` has a budget learned from response headers; all requests also
/// share a local IP budget (600 per 5 s). A request is `enqueue`d, then admitted by `drain`
/// once its budgets allow; `drain` says when to call it again. Waiting requests are
/// admitted by priority (cancels, then order entry, then reads), FIFO within a priority,
/// and a waiting request holds its budget: nothing of lower priority takes a budget that a
/// higher-priority request is waiting for.
public struct RESTRateLimiter: Sendable {
    public struct Configuration: Sendable, Hashable {
        /// Requests per `ipWindowMs` per IP (Bybit: 600 / 5 s).
        public var ipLimit: Int
        public var ipWindowMs: Int64
        /// Refill delay when a budget is used up and no reset time is known (UID windows are 1 s).
        public var windowMs: Int64
        /// How long an HTTP 403 blocks everything (Bybit asks for ≥10 min).
        public var ipBanMs: Int64

        public init(ipLimit: Int = 600, ipWindowMs: Int64 = 5000, windowMs: Int64 = 1000, ipBanMs: Int64 = 600_000) {
            self.ipLimit = ipLimit
            self.ipWindowMs = ipWindowMs
            self.windowMs = windowMs
            self.ipBanMs = ipBanMs
        }
    }

    /// One request waiting for, or holding, admission.
    public struct Ticket: Sendable, Hashable {
        public let id: UInt64
        public let group: RESTRateLimitGroup
    }

    /// What happened to an admitted request.
    public enum Outcome: Sendable, Hashable {
        /// A response arrived, with its rate-limit headers if any.
        case response(RESTRateLimitStatus?)
        /// retCode 10006 or HTTP 429: the budget is empty until `resetAtMs` (header), if known.
        case rateLimited(resetAtMs: Int64?)
        /// HTTP 403: IP-level block.
        case ipBlocked
        /// No response (transport error, timeout).
        case noResponse
    }

    /// The result of `drain`.
    public struct Drain: Sendable, Hashable {
        /// Admitted now, in admission order.
        public var admitted: [Ticket]
        /// Refused because an IP block is in force (until `blockedUntilMs`).
        public var rejected: [Ticket]
        /// When to drain again if tickets still wait.
        public var nextWakeMs: Int64?
    }

    /// A budget as last known.
    public struct Budget: Sendable, Hashable {
        public var limit: Int?
        /// nil: unknown (no headers yet), treated as available.
        public var remaining: Int?
        public var resetAtMs: Int64?
        public var inFlight: Int
    }

    public let configuration: Configuration
    private var budgets: [RESTRateLimitGroup: Budget] = [:]
    /// Admission times inside the IP window, ascending.
    private var ipAdmissions: [Int64] = []
    /// Waiting tickets by (priority desc, id asc).
    private var waiting: [Ticket] = []
    private var admittedIDs: Set<UInt64> = []
    private var nextID: UInt64 = 1
    /// End of an IP block (HTTP 403), server ms.
    public private(set) var blockedUntilMs: Int64?

    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Tickets not yet admitted.
    public var waitingCount: Int { waiting.count }

    /// The budget of `group` as currently known.
    public func budget(_ group: RESTRateLimitGroup) -> Budget? { budgets[group] }

    /// True while an HTTP 403 block lasts.
    public func isBlocked(nowMs: Int64) -> Bool {
        blockedUntilMs.map { nowMs < $0 } ?? false
    }

    /// Registers a request; call `drain` to learn whether it may go.
    public mutating func enqueue(_ group: RESTRateLimitGroup) -> Ticket {
        let ticket = Ticket(id: nextID, group: group)
        nextID += 1
        let index = waiting.firstIndex { $0.group.priority < group.priority } ?? waiting.endIndex
        waiting.insert(ticket, at: index)
        return ticket
    }

    /// Removes a waiting ticket (its task was cancelled).
    public mutating func withdraw(_ ticket: Ticket) {
        waiting.removeAll { $0.id == ticket.id }
    }

    /// Admits what the budgets allow at `nowMs`.
    public mutating func drain(nowMs: Int64) -> Drain {
        if let until = blockedUntilMs, nowMs < until {
            let rejected = waiting
            waiting.removeAll()
            return Drain(admitted: [], rejected: rejected, nextWakeMs: nil)
        }
        blockedUntilMs = nil
        while let first = ipAdmissions.first, first <= nowMs - configuration.ipWindowMs {
            ipAdmissions.removeFirst()
        }
        var admitted: [Ticket] = []
        var stillWaiting: [Ticket] = []
        var claimed = Set<RESTRateLimitGroup>()
        var wake: Int64?
        func wakeAt(_ t: Int64) { wake = min(wake ?? t, t) }

        for ticket in waiting {
            var budget = refreshed(budgets[ticket.group] ?? Budget(inFlight: 0), nowMs: nowMs)
            let groupFree = !claimed.contains(ticket.group) && (budget.remaining.map { $0 > 0 } ?? true)
            let ipFree = ipAdmissions.count < configuration.ipLimit
            if groupFree && ipFree {
                if let remaining = budget.remaining {
                    budget.remaining = remaining - 1
                    if remaining - 1 <= 0 && budget.resetAtMs == nil {
                        budget.resetAtMs = nowMs + configuration.windowMs
                    }
                }
                budget.inFlight += 1
                ipAdmissions.append(nowMs)
                admittedIDs.insert(ticket.id)
                admitted.append(ticket)
            } else {
                stillWaiting.append(ticket)
                if !claimed.contains(ticket.group) && !groupFree {
                    wakeAt(budget.resetAtMs ?? nowMs + configuration.windowMs)
                }
                // A waiting ticket holds its group: lower priorities may not overtake it.
                claimed.insert(ticket.group)
                if !ipFree {
                    wakeAt(ipAdmissions[ipAdmissions.count - configuration.ipLimit] + configuration.ipWindowMs)
                }
            }
            budgets[ticket.group] = budget
        }
        waiting = stillWaiting
        return Drain(admitted: admitted, rejected: [], nextWakeMs: waiting.isEmpty ? nil : wake)
    }

    /// Records the outcome of an admitted ticket.
    public mutating func complete(_ ticket: Ticket, _ outcome: Outcome, nowMs: Int64) {
        guard admittedIDs.remove(ticket.id) != nil else { return }
        var budget = budgets[ticket.group] ?? Budget(inFlight: 1)
        budget.inFlight = max(0, budget.inFlight - 1)
        switch outcome {
        case .response(let status?):
            budget.limit = status.limit ?? budget.limit
            // Requests still in flight were admitted against this budget but are not yet
            // counted in the server's figure.
            budget.remaining = max(0, status.remaining - budget.inFlight)
            budget.resetAtMs = status.resetAtMs
        case .response(nil), .noResponse:
            break
        case .rateLimited(let resetAt):
            budget.remaining = 0
            if let resetAt, resetAt > nowMs {
                budget.resetAtMs = resetAt
            } else {
                budget.resetAtMs = nowMs + configuration.windowMs
            }
        case .ipBlocked:
            blockedUntilMs = nowMs + configuration.ipBanMs
        }
        budgets[ticket.group] = budget
    }

    /// A budget whose reset time has passed is full again (or unknown if its size is).
    private func refreshed(_ budget: Budget, nowMs: Int64) -> Budget {
        var b = budget
        if let reset = b.resetAtMs, nowMs >= reset {
            b.remaining = b.limit
            b.resetAtMs = nil
        }
        return b
    }
}
