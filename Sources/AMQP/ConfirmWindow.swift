/// Publisher-confirm bookkeeping of one channel: which delivery tags are still unconfirmed.
///
/// After `confirm.select` the broker numbers the channel's publishes 1, 2, 3, ... and
/// answers each with `basic.ack` or `basic.nack`, either for one tag or (`multiple`) for
/// every tag up to it. Answers usually come in order but need not; this keeps the
/// outstanding tags sorted and resolves both forms.
public struct ConfirmWindow: Sendable {
    public struct Resolution: Sendable, Hashable {
        public var tag: UInt64
        public var acked: Bool

        public init(tag: UInt64, acked: Bool) {
            self.tag = tag
            self.acked = acked
        }
    }

    /// The tag the next publish will get.
    public private(set) var nextTag: UInt64 = 1
    /// Unconfirmed tags, ascending, from `head` on.
    private var tags: [UInt64] = []
    private var head = 0

    public init() {}

    public var outstanding: Int { tags.count - head }

    /// Records a publish and returns its tag.
    public mutating func published() -> UInt64 {
        defer { nextTag += 1 }
        tags.append(nextTag)
        return nextTag
    }

    /// Applies one `basic.ack` / `basic.nack` and returns the tags it settled, ascending.
    /// Tags already settled (or never published) are ignored.
    public mutating func apply(tag: UInt64, multiple: Bool, acked: Bool) -> [Resolution] {
        var settled: [Resolution] = []
        if multiple {
            while head < tags.count, tags[head] <= tag {
                settled.append(Resolution(tag: tags[head], acked: acked))
                head += 1
            }
        } else if let i = index(of: tag) {
            settled.append(Resolution(tag: tag, acked: acked))
            if i == head { head += 1 } else { tags.remove(at: i) }
        }
        compact()
        return settled
    }

    private func index(of tag: UInt64) -> Int? {
        var lo = head, hi = tags.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if tags[mid] < tag { lo = mid + 1 } else { hi = mid }
        }
        return lo < tags.count && tags[lo] == tag ? lo : nil
    }

    private mutating func compact() {
        if head > 4096, head * 2 > tags.count {
            tags.removeFirst(head)
            head = 0
        }
    }
}
