import Bybit
import Foundation
import Logging
import ServiceLifecycle

/// Fault injection and test helpers (the same faults as the `/sim/*` endpoints).
extension BybitSimulator {
    func engine() throws -> SimulatorEngine {
        guard let e = engineBox.withLock({ $0 }) else { throw SimulatorError.notRunning }
        return e
    }

    /// Closes all sockets, or those of one channel, without a close handshake; returns how many.
    @discardableResult
    public func dropSockets(channel: BybitChannel? = nil) async throws -> Int { try await engine().dropSockets(channel) }

    /// The next delta of `topic` (e.g. `orderbook.50.BTCUSDT`) jumps one `u`; `channel` nil = spot and linear.
    public func skipUpdateId(topic: String, channel: BybitChannel? = nil) async throws {
        try await engine().skipUpdateId(topic: topic, channel: channel)
    }

    /// The next request to `path` answers `retCode` (10006 comes with rate-limit headers).
    public func failNext(path: String, retCode: Int = 10006) async throws { try await engine().failNext(path: path, retCode: retCode) }

    /// The next request to `path` is never answered (until shutdown).
    public func timeoutNext(path: String) async throws { try await engine().timeoutNext(path: path) }

    /// The next request to `path` is executed but its answer is held until shutdown (a lost ack).
    public func holdNextAnswer(path: String) async throws { try await engine().holdNextAnswer(path: path) }

    /// The next request to `path` gets this HTTP status (e.g. 502) and is not executed.
    public func httpStatusNext(path: String, status: Int) async throws { try await engine().httpStatusNext(path: path, status: status) }

    /// How many `POST /v5/order/create` requests named this `orderLinkId` (any outcome).
    public func createRequests(orderLinkId: String) async throws -> Int { await (try engine()).createRequests[orderLinkId] ?? 0 }

    /// Freezes (or unfreezes) market generation and replay.
    public func setPaused(_ paused: Bool) async throws { try await engine().setPaused(paused) }

    /// Steps generated markets by hand (any rate; use `.manual` for full control). Returns frames sent.
    @discardableResult
    public func advance(steps: Int = 1) async throws -> Int {
        let e = try engine()
        var frames = 0
        for _ in 0..<steps { frames += await e.step(now: Self.nowMs()) }
        return frames
    }
}

extension BybitSimulator {
    /// Runs the simulator around `body` (handy in tests): starts it in a `ServiceGroup`,
    /// passes the bound port, then shuts it down gracefully and waits for it to stop.
    public func withRunning<T: Sendable>(_ body: @Sendable (Int) async throws -> T) async throws -> T {
        var configuration = ServiceGroupConfiguration(services: [self], logger: logger)
        // A client that keeps an idle keep-alive connection open must not hold the shutdown.
        configuration.maximumGracefulShutdownDuration = BybitSimulator.shutdownGrace
        let group = ServiceGroup(configuration: configuration)
        let running = Task { try await group.run() }
        do {
            let result = try await body(try await boundPort())
            await group.triggerGracefulShutdown()
            if await Self.finished(running, within: Self.shutdownGrace + .seconds(2)) {
                try await running.value
            } else {
                logger.warning("bybit simulator did not stop in time; left behind")
            }
            return result
        } catch {
            await group.triggerGracefulShutdown()
            if !(await Self.finished(running, within: Self.shutdownGrace + .seconds(2))) {
                logger.warning("bybit simulator did not stop in time; left behind")
            }
            throw error
        }
    }

    /// Whether `task` ends within `limit`; if not, it is cancelled and left running.
    static func finished(_ task: Task<Void, Error>, within limit: Duration) async -> Bool {
        let once = Locked(false)
        func claim() -> Bool { once.withLock { done in defer { done = true }; return !done } }
        let ended = await withCheckedContinuation { (c: CheckedContinuation<Bool, Never>) in
            Task {
                _ = try? await task.value
                if claim() { c.resume(returning: true) }
            }
            Task {
                try? await Task.sleep(for: limit)
                if claim() { c.resume(returning: false) }
            }
        }
        if !ended { task.cancel() }
        return ended
    }
}

/// Errors of the simulator's API.
public enum SimulatorError: Error, CustomStringConvertible, Sendable {
    case notRunning

    public var description: String {
        switch self {
        case .notRunning: return "the simulator is not running (call run() first and await boundPort())"
        }
    }
}

/// The bound port, set once by the server and awaited by callers.
final class PortPromise: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<Int, any Error>?
    private var waiters: [CheckedContinuation<Int, any Error>] = []

    func set(_ port: Int) { complete(.success(port)) }

    func fail(_ error: any Error) { complete(.failure(error)) }

    private func complete(_ r: Result<Int, any Error>) {
        lock.lock()
        guard result == nil else { lock.unlock(); return }
        result = r
        let all = waiters
        waiters = []
        lock.unlock()
        for w in all { w.resume(with: r) }
    }

    func value() async throws -> Int {
        try await withCheckedThrowingContinuation { c in
            lock.lock()
            if let r = result { lock.unlock(); c.resume(with: r); return }
            waiters.append(c)
            lock.unlock()
        }
    }
}
