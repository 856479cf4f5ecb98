import Foundation

/// A serial executor that owns one OS thread.
///
/// libpq and rabbitmq-c calls block; running them on Swift's cooperative pool would starve
/// it. Each connection actor (`PGConnection`, `AMQPConnection`) runs on its own
/// `ConnectionThread`, so its blocking calls only ever block that thread (rabbitmq-c is not
/// thread-safe either, which this also answers).
public final class ConnectionThread: SerialExecutor, @unchecked Sendable {
    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []
    private var stopping = false
    private var threadID: pthread_t?

    /// True when called on this executor's own thread.
    public var isCurrent: Bool {
        condition.lock()
        defer { condition.unlock() }
        guard let threadID else { return false }
        return pthread_equal(threadID, pthread_self()) != 0
    }

    public let name: String

    public init(name: String) {
        self.name = name
        let thread = Thread { [self] in
            self.condition.lock()
            self.threadID = pthread_self()
            self.condition.unlock()
            self.run()
        }
        thread.name = name
        thread.stackSize = 1 << 20
        thread.start()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let unowned = UnownedJob(job)
        condition.lock()
        jobs.append(unowned)
        condition.signal()
        condition.unlock()
    }

    public func asUnownedSerialExecutor() -> UnownedSerialExecutor {
        UnownedSerialExecutor(ordinary: self)
    }

    /// Lets the thread exit once the queued jobs have run.
    public func shutdown() {
        condition.lock()
        stopping = true
        condition.signal()
        condition.unlock()
    }

    private func run() {
        var batch: [UnownedJob] = []
        while true {
            condition.lock()
            while jobs.isEmpty && !stopping { condition.wait() }
            if jobs.isEmpty && stopping {
                condition.unlock()
                return
            }
            swap(&batch, &jobs)
            condition.unlock()
            for job in batch { job.runSynchronously(on: asUnownedSerialExecutor()) }
            batch.removeAll(keepingCapacity: true)
        }
    }
}

