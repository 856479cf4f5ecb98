import Testing
@testable import Bybit

@Suite("REST retry policy and clock offset (pure)")
struct RESTRetryPolicyTests {
    let policy = RESTRetryPolicy(maxReadAttempts: 3, baseDelayMs: 100, maxDelayMs: 250)

    @Test("safe reads retry on transport, 5xx, 429, 10006, 10016 with capped backoff")
    func readRetries() {
        let get = RESTEndpoint.tickers
        for failure in [RESTFailure.transport(mayHaveBeenSent: true), .http(status: 502), .http(status: 429),
                        .api(code: 10006), .api(code: 10016), .api(code: 5004)] {
            #expect(policy.decide(endpoint: get, failure: failure, attempt: 1, clockResynced: false) == .retry(delayMs: 100))
            #expect(policy.decide(endpoint: get, failure: failure, attempt: 2, clockResynced: false) == .retry(delayMs: 200))
            #expect(policy.decide(endpoint: get, failure: failure, attempt: 3, clockResynced: false) == .fail)
        }
        #expect(policy.backoffMs(attempt: 3) == 250)
        #expect(policy.backoffMs(attempt: 200) == 250)
        // Client errors are final.
        for failure in [RESTFailure.http(status: 403), .http(status: 404), .api(code: 10001), .api(code: 10004), .api(code: 110001)] {
            #expect(policy.decide(endpoint: .orderRealtime, failure: failure, attempt: 1, clockResynced: false) == .fail)
        }
    }

    @Test("order entry is never retried: possible execution → outcome unknown")
    func orderEntry() {
        for endpoint in [RESTEndpoint.orderCreate, .orderAmend, .orderCancel, .orderCancelAll] {
            #expect(policy.decide(endpoint: endpoint, failure: .transport(mayHaveBeenSent: true), attempt: 1, clockResynced: false) == .outcomeUnknown)
            #expect(policy.decide(endpoint: endpoint, failure: .http(status: 500), attempt: 1, clockResynced: false) == .outcomeUnknown)
            #expect(policy.decide(endpoint: endpoint, failure: .http(status: 504), attempt: 1, clockResynced: false) == .outcomeUnknown)
            #expect(policy.decide(endpoint: endpoint, failure: .api(code: 10016), attempt: 1, clockResynced: false) == .outcomeUnknown)
            // Certainly not sent, or rejected: fail (the caller decides).
            #expect(policy.decide(endpoint: endpoint, failure: .transport(mayHaveBeenSent: false), attempt: 1, clockResynced: false) == .fail)
            #expect(policy.decide(endpoint: endpoint, failure: .api(code: 10006), attempt: 1, clockResynced: false) == .fail)
            #expect(policy.decide(endpoint: endpoint, failure: .http(status: 429), attempt: 1, clockResynced: false) == .fail)
            #expect(policy.decide(endpoint: endpoint, failure: .api(code: 110072), attempt: 1, clockResynced: false) == .fail)
        }
    }

    @Test("10002: one clock re-sync and one retry, for GET and POST alike")
    func timestampError() {
        for endpoint in [RESTEndpoint.orderCreate, .walletBalance, .orderCancel] {
            #expect(policy.decide(endpoint: endpoint, failure: .api(code: 10002), attempt: 1, clockResynced: false) == .resyncClockThenRetry)
            #expect(policy.decide(endpoint: endpoint, failure: .api(code: 10002), attempt: 2, clockResynced: true) == .fail)
        }
    }

    @Test("RESTRetryPolicy.none never retries reads")
    func none() {
        #expect(RESTRetryPolicy.none.decide(endpoint: .tickers, failure: .http(status: 500), attempt: 1, clockResynced: false) == .fail)
    }

    @Test("clock offset = server − local midpoint; timestamps = local + offset")
    func clockOffset() {
        var clock = BybitClockOffset()
        #expect(clock.serverTime(localMs: 1000) == 1000)
        // Sent at 10_000, received at 10_200 (local); server read 70_150 → midpoint 10_100.
        clock.record(serverTimeMs: 70_150, sentAtMs: 10_000, receivedAtMs: 10_200)
        #expect(clock.offsetMs == 60_050)
        #expect(clock.roundTripMs == 200)
        #expect(clock.serverTime(localMs: 10_300) == 70_350)
        // Server behind us.
        clock.record(serverTimeMs: 5_000, sentAtMs: 10_000, receivedAtMs: 10_000)
        #expect(clock.offsetMs == -5_000)
    }

    @Test("server time from the fixture feeds the offset")
    func serverTimeFixture() throws {
        let time = try RESTFixture.decode(RESTServerTime.self, try RESTFixture.bytes("http_server_time.json")).result
        var clock = BybitClockOffset()
        clock.record(serverTimeMs: time.milliseconds, sentAtMs: 1_696_233_582_000, receivedAtMs: 1_696_233_582_100)
        #expect(clock.offsetMs == 119)
    }
}
