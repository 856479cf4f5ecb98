import Foundation

/// Each stream's last version, for the replay's appends: an open-addressing table keyed by
/// the stream's name, hashed with FNV-1a over its bytes (one pass over a few dozen bytes per
/// append, where a `[String: Int64]` hashes them with SipHash) and compared as a String. Lookups only; nothing iterates it, so its
/// order never shows.
struct StreamVersions {
    private var names: [String] = []
    private var versions: [Int64] = []
    /// Slot → index into `names` (-1 empty); a power of two, at most half full.
    private var table = [Int32](repeating: -1, count: 64)

    /// The streams seen (for tests and diagnostics).
    var count: Int { names.count }

    /// Bumps `stream`'s version and returns it (1 for a stream not seen before).
    mutating func next(_ stream: String) -> Int64 {
        let hash = Self.hash(stream)
        var i = hash & (table.count - 1)
        while true {
            let at = Int(table[i])
            if at < 0 { break }
            if names[at] == stream {
                versions[at] += 1
                return versions[at]
            }
            i = (i + 1) & (table.count - 1)
        }
        table[i] = Int32(names.count)
        names.append(stream)
        versions.append(1)
        if names.count * 2 > table.count { grow() }
        return 1
    }

    /// The version of `stream` (0 for a stream never appended to; for tests and diagnostics).
    func version(of stream: String) -> Int64 {
        var i = Self.hash(stream) & (table.count - 1)
        while true {
            let at = Int(table[i])
            if at < 0 { return 0 }
            if names[at] == stream { return versions[at] }
            i = (i + 1) & (table.count - 1)
        }
    }

    private mutating func grow() {
        table = [Int32](repeating: -1, count: table.count * 2)
        for (n, name) in names.enumerated() {
            var i = Self.hash(name) & (table.count - 1)
            while table[i] >= 0 { i = (i + 1) & (table.count - 1) }
            table[i] = Int32(n)
        }
    }

    /// 64-bit FNV-1a of the name's UTF-8 bytes in Unicode normal form C: names equal as
    /// Strings (canonically equivalent) hash alike, as in a dictionary. An ASCII name is its
    /// own normal form.
    static func hash(_ s: String) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        // A native String's bytes in place (no copy of the String to call `withUTF8` on); a
        // bridged one without contiguous bytes is hashed from its normal form below.
        let ascii = s.utf8.withContiguousStorageIfAvailable { bytes -> Bool in
            for b in bytes {
                if b >= 0x80 { return false }
                h ^= UInt64(b)
                h = h &* 0x0000_0100_0000_01b3
            }
            return true
        } ?? false
        if !ascii {
            h = 0xcbf2_9ce4_8422_2325
            for b in s.precomposedStringWithCanonicalMapping.utf8 {
                h ^= UInt64(b)
                h = h &* 0x0000_0100_0000_01b3
            }
        }
        return Int(truncatingIfNeeded: h ^ (h >> 32))
    }
}
