import Foundation

/// A parsed JSON document that owns its bytes and tape: the light tree for code off the
/// hot path (REST bodies, tests, the simulator). Numbers keep their source text.
///
/// ```swift
/// let doc = try JSONDocument(parsing: Array(#"{"p":"1.50","n":[1,2]}"#.utf8))
/// doc.root["p"]?.string        // "1.50"
/// doc.root["n"]?[1]?.numberText // "2"
/// ```
public struct JSONDocument: Sendable {
    public let bytes: [UInt8]
    public let nodes: [JSONNode]

    public init(parsing bytes: [UInt8]) throws(JSONParseError) {
        var storage = [JSONNode]()
        storage.reserveCapacity(bytes.count / 6 + 8)
        let result = bytes.withUnsafeBytes { raw -> Result<Int, JSONParseError> in
            do throws(JSONParseError) {
                return .success(try JSONParser.parse(raw, into: &storage))
            } catch {
                return .failure(error)
            }
        }
        let count = try result.get()
        storage.removeLast(storage.count - count)
        self.bytes = bytes
        self.nodes = storage
    }

    public init(parsing text: String) throws(JSONParseError) {
        try self.init(parsing: Array(text.utf8))
    }

    public var root: Value { Value(document: self, index: 0) }

    /// One value inside a ``JSONDocument``.
    public struct Value: Sendable {
        public let document: JSONDocument
        /// Tape index of this value.
        public let index: Int

        /// The value at tape index `index` of `document`: the index of a value node (the
        /// root, or one found by walking the tape), not of an object's key.
        public init(document: JSONDocument, index: Int) {
            precondition(index >= 0 && index < document.nodes.count, "tape index out of range")
            self.document = document
            self.index = index
        }

        var node: JSONNode { document.nodes[index] }
        public var kind: JSONKind { node.kind }
        public var isNull: Bool { kind == .null }

        /// Number of array elements or object members.
        public var count: Int { Int(node.count) }

        /// The source bytes of the value (strings: the escaped content without quotes).
        public var rawBytes: ArraySlice<UInt8> { document.bytes[Int(node.start)..<Int(node.end)] }

        /// The member named `key`, when this is an object.
        public subscript(key: String) -> Value? {
            guard kind == .object else { return nil }
            var key = key
            return key.withUTF8 { wanted -> Value? in
                var k = index + 1
                for _ in 0..<count {
                    let n = document.nodes[k]
                    let matches: Bool
                    if n.flags & JSONNode.escaped == 0 {
                        // Most keys: compared where they sit, without a copy.
                        matches = Int(n.end - n.start) == wanted.count && document.bytes.withUnsafeBufferPointer {
                            UnsafeBufferPointer(rebasing: $0[Int(n.start)..<Int(n.end)]).elementsEqual(wanted)
                        }
                    } else {
                        matches = Value(document: document, index: k).stringBytes?.elementsEqual(wanted) ?? false
                    }
                    if matches { return Value(document: document, index: k + 1) }
                    k = Int(document.nodes[k + 1].next)
                }
                return nil
            }
        }

        /// The element at `position`, when this is an array.
        public subscript(position: Int) -> Value? {
            guard kind == .array, position >= 0, position < count else { return nil }
            var e = index + 1
            for _ in 0..<position { e = Int(document.nodes[e].next) }
            return Value(document: document, index: e)
        }

        /// Array elements in order (empty for other kinds).
        public var elements: [Value] {
            guard kind == .array else { return [] }
            var out = [Value]()
            out.reserveCapacity(count)
            var e = index + 1
            for _ in 0..<count {
                out.append(Value(document: document, index: e))
                e = Int(document.nodes[e].next)
            }
            return out
        }

        /// Object members in source order (empty for other kinds).
        public var members: [(key: String, value: Value)] {
            guard kind == .object else { return [] }
            var out = [(key: String, value: Value)]()
            out.reserveCapacity(count)
            var k = index + 1
            for _ in 0..<count {
                let key = Value(document: document, index: k).string ?? ""
                out.append((key, Value(document: document, index: k + 1)))
                k = Int(document.nodes[k + 1].next)
            }
            return out
        }

        /// Unescaped UTF-8 of a string value.
        public var stringBytes: [UInt8]? {
            guard kind == .string else { return nil }
            let slice = rawBytes
            if node.flags & JSONNode.escaped == 0 { return Array(slice) }
            return slice.withUnsafeBytes { unescapeJSONString($0) }
        }

        public var string: String? { stringBytes.map { String(decoding: $0, as: UTF8.self) } }

        /// The source text of a number.
        public var numberText: String? {
            kind == .number ? String(decoding: rawBytes, as: UTF8.self) : nil
        }

        public var bool: Bool? {
            switch kind {
            case .true: return true
            case .false: return false
            default: return nil
            }
        }

        /// An integer from a JSON number or a string of digits.
        public var int64: Int64? {
            guard kind == .number || (kind == .string && node.flags == 0) else { return nil }
            return rawBytes.withUnsafeBytes { parseInt64($0) }
        }

        /// A decimal from a string or number in plain or exponent notation; nil for `""`,
        /// other kinds, or text that is not a decimal.
        public var decimal: Decimal? {
            guard kind == .string || kind == .number else { return nil }
            guard let text = kind == .string ? string : numberText else { return nil }
            return DecimalText.decimal(text)
        }
    }
}
