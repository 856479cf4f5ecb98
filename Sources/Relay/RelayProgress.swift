import AMQP

/// The relay's bookkeeping between the log and the broker, without I/O.
///
/// The relay reads the log in order and publishes each routed event on one channel, so
/// each queue receives its events in log order. A position is *done* for a queue once every
/// message of that queue up to it is confirmed. Per queue, the checkpoint is the last done
/// position; `overall` is the position done for every queue (and for events with no route),
/// where reading resumes after a restart. Events at or below their queue's checkpoint are
/// skipped then, so a queue whose messages were all confirmed gets no duplicates even when
/// another queue's were not.
public struct RelayProgress: Sendable {
    struct Pending: Sendable {
        var position: Int64
        var queue: String
        var confirmed = false
    }

    /// Loaded checkpoints: where each queue was done at start (missing: `overall`).
    public private(set) var checkpoints: [String: Int64]
    public private(set) var overall: Int64
    /// Every event up to here has been read and published (or skipped).
    public private(set) var readPosition: Int64
    /// Published and not yet popped, in publish (= tag) order.
    private var pending: [Pending] = []
    private var head = 0
    /// Delivery tag of `pending[head]`.
    private var headTag: UInt64 = 1

    public init(overall: Int64, checkpoints: [String: Int64]) {
        self.overall = overall
        self.checkpoints = checkpoints
        self.readPosition = overall
    }

    /// Whether an event of `queue` at `position` still has to be published.
    public func needsPublishing(position: Int64, queue: String) -> Bool {
        position > (checkpoints[queue] ?? overall)
    }

    /// Starts a new channel: its first delivery tag is `firstTag` (1 after confirm.select).
    /// Only valid with nothing pending.
    public mutating func channelOpened(firstTag: UInt64 = 1) {
        precondition(unconfirmed == 0, "channel reset with unconfirmed messages")
        pending.removeAll()
        head = 0
        headTag = firstTag
    }

    /// Records a publish; tags must follow one another.
    public mutating func published(tag: UInt64, position: Int64, queue: String) {
        precondition(tag == headTag + UInt64(pending.count - head), "delivery tags out of sequence")
        pending.append(Pending(position: position, queue: queue))
    }

    /// Everything up to `position` has been read and handed to the broker.
    public mutating func read(through position: Int64) {
        readPosition = max(readPosition, position)
    }

    /// Applies confirms; returns how many were acked per queue, and the positions and
    /// queues of nacked messages.
    public mutating func apply(_ resolutions: [ConfirmWindow.Resolution])
        -> (acked: [String: Int64], nacked: [(position: Int64, queue: String)]) {
        var acked: [String: Int64] = [:]
        var nacked: [(position: Int64, queue: String)] = []
        for r in resolutions {
            guard r.tag >= headTag else { continue }
            let i = head + Int(r.tag - headTag)
            guard i < pending.count else { continue }
            if r.acked {
                if !pending[i].confirmed { acked[pending[i].queue, default: 0] += 1 }
                pending[i].confirmed = true
            } else {
                nacked.append((pending[i].position, pending[i].queue))
            }
        }
        while head < pending.count, pending[head].confirmed {
            head += 1
            headTag += 1
        }
        if head > 4096, head * 2 > pending.count {
            pending.removeFirst(head)
            head = 0
        }
        return (acked, nacked)
    }

    public var unconfirmed: Int { pending[head...].lazy.filter { !$0.confirmed }.count }

    /// The checkpoints to store now: per queue and overall.
    public func frontier(queues: some Sequence<String>) -> (overall: Int64, queues: [String: Int64]) {
        var firstOpen: [String: Int64] = [:]
        var lowest = Int64.max
        for p in pending[head...] where !p.confirmed {
            if firstOpen[p.queue] == nil { firstOpen[p.queue] = p.position }
            lowest = min(lowest, p.position)
        }
        let all = lowest == .max ? readPosition : max(overall, lowest - 1)
        var out: [String: Int64] = [:]
        for q in Set(queues).union(checkpoints.keys) {
            let loaded = checkpoints[q] ?? overall
            let done = firstOpen[q].map { $0 - 1 } ?? readPosition
            out[q] = max(loaded, done, all)
        }
        return (all, out)
    }
}
