import Testing
@testable import Bybit

@Suite("REST rate limiter (pure)")
struct RESTRateLimiterTests {
    @Test("unknown budgets admit immediately")
    func admitsWhenUnknown() {
        var limiter = RESTRateLimiter()
        let a = limiter.enqueue(.marketData)
        let b = limiter.enqueue(.orderCreate(.linear))
        let drain = limiter.drain(nowMs: 1000)
        #expect(drain.admitted == [b, a])  // order entry ranks above reads
        #expect(drain.nextWakeMs == nil)
        #expect(limiter.waitingCount == 0)
    }

    @Test("remaining 0 in headers holds the group until the reset timestamp")
    func remainingZeroWaitsForReset() {
        var limiter = RESTRateLimiter()
        let first = limiter.enqueue(.orderCreate(.linear))
        #expect(limiter.drain(nowMs: 1000).admitted == [first])
        limiter.complete(first, .response(RESTRateLimitStatus(remaining: 0, limit: 10, resetAtMs: 1800)), nowMs: 1010)

        let second = limiter.enqueue(.orderCreate(.linear))
        let other = limiter.enqueue(.orderCreate(.spot))  // another budget is unaffected
        let d1 = limiter.drain(nowMs: 1020)
        #expect(d1.admitted == [other])
        #expect(d1.nextWakeMs == 1800)
        #expect(limiter.drain(nowMs: 1799).admitted.isEmpty)
        #expect(limiter.drain(nowMs: 1800).admitted == [second])
        // After the reset the budget is the full limit minus what was just admitted.
        #expect(limiter.budget(.orderCreate(.linear))?.remaining == 9)
    }

    @Test("local accounting: in-flight requests consume the budget before headers return")
    func localAccounting() {
        var limiter = RESTRateLimiter()
        let t0 = limiter.enqueue(.position)
        _ = limiter.drain(nowMs: 0)
        limiter.complete(t0, .response(RESTRateLimitStatus(remaining: 2, limit: 50, resetAtMs: 900)), nowMs: 10)
        let a = limiter.enqueue(.position), b = limiter.enqueue(.position), c = limiter.enqueue(.position)
        let d = limiter.drain(nowMs: 20)
        #expect(d.admitted == [a, b])
        #expect(d.nextWakeMs == 900)
        // a's headers say 1 left, but b is still in flight: nothing left.
        limiter.complete(a, .response(RESTRateLimitStatus(remaining: 1, limit: 50, resetAtMs: 900)), nowMs: 30)
        #expect(limiter.budget(.position)?.remaining == 0)
        #expect(limiter.drain(nowMs: 40).admitted.isEmpty)
        limiter.complete(b, .response(nil), nowMs: 50)
        #expect(limiter.drain(nowMs: 900).admitted == [c])
    }

    @Test("10006 empties the budget until the reset timestamp (or one window)")
    func rateLimited() {
        var limiter = RESTRateLimiter()
        let t = limiter.enqueue(.orderQuery)
        _ = limiter.drain(nowMs: 100)
        limiter.complete(t, .rateLimited(resetAtMs: 2500), nowMs: 120)
        let next = limiter.enqueue(.orderQuery)
        #expect(limiter.drain(nowMs: 130).nextWakeMs == 2500)
        #expect(limiter.drain(nowMs: 2500).admitted == [next])

        // No (or a stale) reset timestamp: wait one window.
        limiter.complete(next, .rateLimited(resetAtMs: nil), nowMs: 3000)
        let again = limiter.enqueue(.orderQuery)
        #expect(limiter.drain(nowMs: 3000).nextWakeMs == 4000)
        #expect(limiter.drain(nowMs: 4000).admitted == [again])
    }

    @Test("cancels are admitted before new orders waiting on the same (IP) budget")
    func cancelsFirstOnSharedBudget() {
        var limiter = RESTRateLimiter(configuration: .init(ipLimit: 2, ipWindowMs: 1000))
        let r1 = limiter.enqueue(.marketData), r2 = limiter.enqueue(.marketData)
        #expect(limiter.drain(nowMs: 0).admitted == [r1, r2])
        // IP budget full: a create, then a read, then a cancel arrive.
        let create = limiter.enqueue(.orderCreate(.linear))
        let read = limiter.enqueue(.marketData)
        let cancel = limiter.enqueue(.orderCancel(.linear))
        let blocked = limiter.drain(nowMs: 10)
        #expect(blocked.admitted.isEmpty)
        #expect(blocked.nextWakeMs == 1000)
        // Two slots free at 1000: the cancel goes first, then the create; the read waits.
        let d = limiter.drain(nowMs: 1000)
        #expect(d.admitted == [cancel, create])
        #expect(limiter.waitingCount == 1)
        #expect(d.nextWakeMs == 2000)
        #expect(limiter.drain(nowMs: 2000).admitted == [read])
    }

    @Test("a waiting cancel holds its group: a later request cannot overtake it; FIFO within a priority")
    func waitingTicketHoldsGroup() {
        var limiter = RESTRateLimiter()
        let t = limiter.enqueue(.cancelAll(.option))
        _ = limiter.drain(nowMs: 0)
        limiter.complete(t, .response(RESTRateLimitStatus(remaining: 0, limit: 1, resetAtMs: 1000)), nowMs: 5)
        let first = limiter.enqueue(.cancelAll(.option))
        let second = limiter.enqueue(.cancelAll(.option))
        #expect(limiter.drain(nowMs: 10).admitted.isEmpty)
        let at1000 = limiter.drain(nowMs: 1000)
        #expect(at1000.admitted == [first])  // limit 1: one per window
        #expect(at1000.nextWakeMs == 2000)
        #expect(limiter.drain(nowMs: 2000).admitted == [second])
    }

    @Test("withdrawn tickets are dropped; completing twice is harmless")
    func withdraw() {
        var limiter = RESTRateLimiter(configuration: .init(ipLimit: 1, ipWindowMs: 100))
        let a = limiter.enqueue(.wallet)
        _ = limiter.drain(nowMs: 0)
        let b = limiter.enqueue(.wallet)
        #expect(limiter.drain(nowMs: 1).admitted.isEmpty)
        limiter.withdraw(b)
        #expect(limiter.waitingCount == 0)
        #expect(limiter.drain(nowMs: 1).nextWakeMs == nil)
        limiter.complete(a, .noResponse, nowMs: 2)
        limiter.complete(a, .noResponse, nowMs: 3)
        #expect(limiter.budget(.wallet)?.inFlight == 0)
    }

    @Test("HTTP 403 blocks everything for the ban period; waiting requests are rejected")
    func ipBlock() {
        var limiter = RESTRateLimiter(configuration: .init(ipBanMs: 60_000))
        let t = limiter.enqueue(.marketData)
        _ = limiter.drain(nowMs: 0)
        limiter.complete(t, .ipBlocked, nowMs: 100)
        #expect(limiter.isBlocked(nowMs: 100))
        let w = limiter.enqueue(.marketData)
        let d = limiter.drain(nowMs: 200)
        #expect(d.rejected == [w] && d.admitted.isEmpty)
        #expect(!limiter.isBlocked(nowMs: 60_100))
        let later = limiter.enqueue(.marketData)
        #expect(limiter.drain(nowMs: 60_100).admitted == [later])
    }

    @Test("headers parse case-insensitively; incomplete headers are ignored")
    func headerParsing() {
        let status = RESTRateLimitStatus(headers: [
            RESTHeader(name: "x-bapi-limit-status", value: "9"),
            RESTHeader(name: "X-Bapi-Limit", value: "10"),
            RESTHeader(name: "X-BAPI-LIMIT-RESET-TIMESTAMP", value: "1700000000123"),
        ])
        #expect(status == RESTRateLimitStatus(remaining: 9, limit: 10, resetAtMs: 1_700_000_000_123))
        #expect(RESTRateLimitStatus(headers: [RESTHeader(name: "X-Bapi-Limit-Status", value: "9")]) == nil)
        #expect(RESTRateLimitStatus(headers: [RESTHeader(name: "X-Bapi-Limit-Status", value: "x"),
                                              RESTHeader(name: "X-Bapi-Limit-Reset-Timestamp", value: "1")]) == nil)
    }
}
