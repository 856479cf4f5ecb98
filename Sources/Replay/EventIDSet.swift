import Foundation

/// The event ids a replay has appended: an open-addressing table of the ids' 128 bits, hashed
/// by mixing them (the ids are UUIDv5 and random ids, already uniform: no SipHash over 16
/// bytes on every append). Membership only; nothing iterates it, so its order never shows.
struct EventIDSet {
    /// Two words per slot; the all-zero id is kept apart, as zero marks an empty slot.
    private var slots: [UInt64]
    private var hasZero = false
    private(set) var count = 0

    init(minimumCapacity: Int = 0) {
        var n = 64
        while n < minimumCapacity * 2 { n *= 2 }
        slots = [UInt64](repeating: 0, count: n * 2)
    }

    private var capacity: Int { slots.count / 2 }

    private static func words(_ id: UUID) -> (UInt64, UInt64) {
        withUnsafeBytes(of: id.uuid) { ($0.loadUnaligned(fromByteOffset: 0, as: UInt64.self), $0.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) }
    }

    private static func hash(_ a: UInt64, _ b: UInt64) -> Int {
        // A 64-bit finalizer over both words: any id, uniform or not, spreads over the table.
        var h = a ^ (b &* 0x9E37_79B9_7F4A_7C15)
        h ^= h >> 33
        h = h &* 0xFF51_AFD7_ED55_8CCD
        h ^= h >> 33
        return Int(truncatingIfNeeded: h)
    }

    /// Adds `id`; false when it was there already.
    @discardableResult
    mutating func insert(_ id: UUID) -> Bool {
        let (a, b) = Self.words(id)
        if a == 0 && b == 0 {
            defer { hasZero = true }
            if hasZero { return false }
            count += 1
            return true
        }
        let mask = capacity - 1
        var i = Self.hash(a, b) & mask
        while true {
            let x = slots[2 * i], y = slots[2 * i + 1]
            if x == 0 && y == 0 { break }
            if x == a && y == b { return false }
            i = (i + 1) & mask
        }
        slots[2 * i] = a
        slots[2 * i + 1] = b
        count += 1
        if count * 2 > capacity { grow() }
        return true
    }

    func contains(_ id: UUID) -> Bool {
        let (a, b) = Self.words(id)
        if a == 0 && b == 0 { return hasZero }
        let mask = capacity - 1
        var i = Self.hash(a, b) & mask
        while true {
            let x = slots[2 * i], y = slots[2 * i + 1]
            if x == 0 && y == 0 { return false }
            if x == a && y == b { return true }
            i = (i + 1) & mask
        }
    }

    private mutating func grow() {
        let old = slots
        slots = [UInt64](repeating: 0, count: old.count * 2)
        let mask = capacity - 1
        for s in stride(from: 0, to: old.count, by: 2) where old[s] != 0 || old[s + 1] != 0 {
            var i = Self.hash(old[s], old[s + 1]) & mask
            while slots[2 * i] != 0 || slots[2 * i + 1] != 0 { i = (i + 1) & mask }
            slots[2 * i] = old[s]
            slots[2 * i + 1] = old[s + 1]
        }
    }
}
