/// A JSON text under construction for the samples: objects keep their member order and
/// leaves are raw bytes (so a sample can hold text that is not JSON, or not UTF-8).
indirect enum SampleJSON {
    case raw([UInt8])
    case object([(key: String, value: SampleJSON)])

    static func text(_ s: String) -> SampleJSON { .raw(Array(s.utf8)) }
    /// A JSON string of plain text (the samples never need escaping beyond what they write).
    static func string(_ s: String) -> SampleJSON { .raw(Array("\"\(s)\"".utf8)) }
    static let null = SampleJSON.text("null")

    /// Compact, or indented by two spaces with `": "` after keys. Either way the text starts
    /// with `{` and ends with `}` (no trailing newline).
    func bytes(pretty: Bool) -> [UInt8] {
        var out = [UInt8]()
        write(into: &out, pretty: pretty, depth: 0)
        return out
    }

    private func write(into out: inout [UInt8], pretty: Bool, depth: Int) {
        switch self {
        case .raw(let bytes):
            out.append(contentsOf: bytes)
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (i, member) in members.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                if pretty {
                    out.append(0x0A)
                    out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * (depth + 1)))
                }
                out.append(contentsOf: Array("\"\(member.key)\":".utf8))
                if pretty { out.append(UInt8(ascii: " ")) }
                member.value.write(into: &out, pretty: pretty, depth: depth + 1)
            }
            if pretty && !members.isEmpty {
                out.append(0x0A)
                out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: 2 * depth))
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// The member at `path` (keys from the root), if any.
    subscript(path: [String]) -> SampleJSON? {
        guard let first = path.first else { return self }
        guard case .object(let members) = self, let m = members.first(where: { $0.key == first }) else { return nil }
        return m.value[Array(path.dropFirst())]
    }

    /// A copy with the member at `path` replaced by `value` (added at the end of its object
    /// when absent), or removed when `value` is nil.
    func setting(_ path: [String], to value: SampleJSON?) -> SampleJSON {
        guard let first = path.first, case .object(var members) = self else { return value ?? self }
        let rest = Array(path.dropFirst())
        if let i = members.firstIndex(where: { $0.key == first }) {
            if rest.isEmpty {
                if let value { members[i].value = value } else { members.remove(at: i) }
            } else {
                members[i].value = members[i].value.setting(rest, to: value)
            }
        } else if rest.isEmpty, let value {
            members.append((first, value))
        }
        return .object(members)
    }

    /// A copy with a member appended to the object at `path` even if the key exists already.
    func appending(key: String, value: SampleJSON, at path: [String] = []) -> SampleJSON {
        guard case .object(var members) = self else { return self }
        guard let first = path.first else {
            members.append((key, value))
            return .object(members)
        }
        if let i = members.firstIndex(where: { $0.key == first }) {
            members[i].value = members[i].value.appending(key: key, value: value, at: Array(path.dropFirst()))
        }
        return .object(members)
    }
}
