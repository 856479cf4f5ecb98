import Foundation
import NIOCore

/// Frames waiting for one socket. The engine pushes without waiting; the socket's writer
/// drains in batches. `pending` counts queued plus in-flight frames, for back-pressure.
final class Outbox: @unchecked Sendable {
    private let lock = NSLock()
    private var queue: [ByteBuffer] = []
    private var waiter: CheckedContinuation<[ByteBuffer]?, Never>?
    private var closed = false
    private var pendingCount = 0
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// Queues a frame; false when the socket is closed or over its limit (a slow consumer).
    @discardableResult
    func push(_ frame: ByteBuffer) -> Bool {
        lock.lock()
        guard !closed, pendingCount < limit else { lock.unlock(); return false }
        pendingCount += 1
        if let w = waiter {
            waiter = nil
            lock.unlock()
            w.resume(returning: [frame])
            return true
        }
        queue.append(frame)
        lock.unlock()
        return true
    }

    /// The next batch, or nil once closed.
    func next() async -> [ByteBuffer]? {
        await withCheckedContinuation { (c: CheckedContinuation<[ByteBuffer]?, Never>) in
            lock.lock()
            if !queue.isEmpty {
                let batch = queue
                queue.removeAll(keepingCapacity: true)
                lock.unlock()
                c.resume(returning: batch)
            } else if closed {
                lock.unlock()
                c.resume(returning: nil)
            } else {
                waiter = c
                lock.unlock()
            }
        }
    }

    /// `n` frames were written.
    func sent(_ n: Int) {
        lock.lock()
        pendingCount -= n
        lock.unlock()
    }

    var pending: Int {
        lock.lock()
        defer { lock.unlock() }
        return pendingCount
    }

    func close() {
        lock.lock()
        closed = true
        let w = waiter
        waiter = nil
        lock.unlock()
        w?.resume(returning: nil)
    }
}

/// Requests held open by `timeout-next`, released at shutdown.
final class HeldRequests: @unchecked Sendable {
    private let lock = NSLock()
    private var waiters: [CheckedContinuation<Void, Never>] = []
    private var released = false

    func hold() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            lock.lock()
            if released { lock.unlock(); c.resume(); return }
            waiters.append(c)
            lock.unlock()
        }
    }

    func releaseAll() {
        lock.lock()
        released = true
        let all = waiters
        waiters = []
        lock.unlock()
        for w in all { w.resume() }
    }
}
