import Bybit

// Waiting on the pure `RESTRateLimiter`: requests park as continuations, one timer task
// wakes the queue at the limiter's next wake time. Limiter time is server time
// (local + offset) because reset timestamps come from Bybit.
extension BybitRESTClient {
    var serverNowMs: Int64 { offset.serverTime(localMs: clock.nowMs) }

    /// Waits until `group` may send; the ticket must be passed to `release`.
    func admit(_ group: RESTRateLimitGroup) async throws -> RESTRateLimiter.Ticket {
        if limiter.isBlocked(nowMs: serverNowMs) {
            throw BybitRESTUsageError("Bybit requests are blocked until \(limiter.blockedUntilMs ?? 0) (server ms) after HTTP 403")
        }
        let ticket = limiter.enqueue(group)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<RESTRateLimiter.Ticket, Error>) in
                waiters[ticket.id] = continuation
                pumpAdmissions()
            }
        } onCancel: {
            Task { await self.withdraw(ticket) }
        }
    }

    /// Reports how an admitted request ended, which may admit others.
    func release(_ ticket: RESTRateLimiter.Ticket, _ outcome: RESTRateLimiter.Outcome) {
        limiter.complete(ticket, outcome, nowMs: serverNowMs)
        pumpAdmissions()
    }

    private func withdraw(_ ticket: RESTRateLimiter.Ticket) {
        guard let continuation = waiters.removeValue(forKey: ticket.id) else { return }
        limiter.withdraw(ticket)
        continuation.resume(throwing: CancellationError())
        pumpAdmissions()
    }

    private func pumpAdmissions() {
        let drain = limiter.drain(nowMs: serverNowMs)
        for ticket in drain.admitted {
            waiters.removeValue(forKey: ticket.id)?.resume(returning: ticket)
        }
        for ticket in drain.rejected {
            waiters.removeValue(forKey: ticket.id)?.resume(throwing: BybitRESTUsageError(
                "Bybit requests are blocked until \(limiter.blockedUntilMs ?? 0) (server ms) after HTTP 403"))
        }
        scheduleAdmissionTimer(at: drain.nextWakeMs)
    }

    private func scheduleAdmissionTimer(at wake: Int64?) {
        guard let wake else {
            admissionTimer?.cancel()
            admissionTimer = nil
            admissionTimerDeadline = nil
            return
        }
        if admissionTimer != nil, let current = admissionTimerDeadline, current <= wake { return }
        admissionTimer?.cancel()
        admissionTimerDeadline = wake
        let delay = max(0, wake - serverNowMs)
        if delay > 0 {
            logger.debug("bybit rate limit: waiting", metadata: ["bybit.wait_ms": "\(delay)"])
        }
        let sleep = clock.sleep
        admissionTimer = Task {
            if delay > 0 {
                do { try await sleep(delay) } catch { return }
            }
            self.admissionTimerFired(deadline: wake)
        }
    }

    private func admissionTimerFired(deadline: Int64) {
        if admissionTimerDeadline == deadline {
            admissionTimer = nil
            admissionTimerDeadline = nil
        }
        pumpAdmissions()
    }
}
