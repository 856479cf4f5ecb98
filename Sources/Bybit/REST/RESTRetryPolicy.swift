/// Why an attempt failed, as the retry policy sees it.
public enum RESTFailure: Sendable, Hashable {
    /// No HTTP response. `mayHaveBeenSent` is false only when the connection was never made.
    case transport(mayHaveBeenSent: Bool)
    /// A non-200 HTTP status.
    case http(status: Int)
    /// HTTP 200 with `retCode ≠ 0`.
    case api(code: Int)
}

/// What to do after a failed attempt.
public enum RESTRetryDecision: Sendable, Hashable {
    /// Try again after `delayMs` (the rate limiter may add its own wait).
    case retry(delayMs: Int64)
    /// 10002: fetch server time, then send once more with a fresh timestamp and signature.
    case resyncClockThenRetry
    /// Give up and surface the error.
    case fail
    /// Order entry whose effect is unknown: surface `BybitOrderOutcomeUnknownError`.
    case outcomeUnknown
}

/// The retry rules, pure. Safe reads are retried on transport errors, 5xx, 429, 10006 and
/// Bybit server errors, with exponential backoff; order entry is never retried blindly:
/// anything that may have reached the matching engine becomes "outcome unknown".
/// 10002 (timestamp) means the request was rejected unexecuted, so every method gets one
/// clock re-sync and one retry.
public struct RESTRetryPolicy: Sendable, Hashable {
    /// Total attempts for a safe read, the first included.
    public var maxReadAttempts: Int
    public var baseDelayMs: Int64
    public var maxDelayMs: Int64

    public init(maxReadAttempts: Int = 4, baseDelayMs: Int64 = 250, maxDelayMs: Int64 = 4000) {
        self.maxReadAttempts = maxReadAttempts
        self.baseDelayMs = baseDelayMs
        self.maxDelayMs = maxDelayMs
    }

    /// No retries at all (tests, callers with their own loop).
    public static let none = RESTRetryPolicy(maxReadAttempts: 1, baseDelayMs: 0, maxDelayMs: 0)

    /// The decision after attempt number `attempt` (1-based) of `endpoint` failed with
    /// `failure`; `clockResynced` says whether this call already used its 10002 re-sync.
    public func decide(endpoint: RESTEndpoint, failure: RESTFailure, attempt: Int, clockResynced: Bool) -> RESTRetryDecision {
        if case .api(10002) = failure {
            return clockResynced ? .fail : .resyncClockThenRetry
        }
        if endpoint.isSafeRead {
            guard Self.isTransient(failure) else { return .fail }
            return attempt < maxReadAttempts ? .retry(delayMs: backoffMs(attempt: attempt)) : .fail
        }
        if endpoint.kind.isOrderEntry {
            switch failure {
            case .transport(let mayHaveBeenSent):
                return mayHaveBeenSent ? .outcomeUnknown : .fail
            case .http(let status):
                return (500...599).contains(status) ? .outcomeUnknown : .fail
            case .api(let code):
                return Self.serverErrorCodes.contains(code) ? .outcomeUnknown : .fail
            }
        }
        return .fail
    }

    /// `baseDelayMs · 2^(attempt−1)`, capped. No jitter: decisions stay reproducible.
    public func backoffMs(attempt: Int) -> Int64 {
        let shift = min(max(attempt - 1, 0), 20)
        return min(maxDelayMs, baseDelayMs << Int64(shift))
    }

    /// Bybit-side failures reported in the envelope: 10016 system error, 5004 server timeout.
    public static let serverErrorCodes: Set<Int> = [10016, 5004]

    static func isTransient(_ failure: RESTFailure) -> Bool {
        switch failure {
        case .transport: return true
        case .http(let status): return status == 429 || (500...599).contains(status)
        case .api(let code): return code == 10006 || serverErrorCodes.contains(code)
        }
    }
}
