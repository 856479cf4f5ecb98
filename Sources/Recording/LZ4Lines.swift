import CLZ4
import Foundation

/// Writes JSON lines into an LZ4 frame file (readable with `lz4 -d`). Lines are buffered and
/// compressed in blocks; `flush()` makes everything so far durable in the file.
public final class RecordingWriter {
    public let path: String
    private let handle: FileHandle
    private var context: OpaquePointer?
    private var pending: [UInt8] = []
    private var output: [UInt8] = []
    private var nextSeq: Int64 = 0
    private var closed = false
    private var prefs = LZ4F_preferences_t()
    private let encoder: JSONEncoder
    private static let blockSize = 256 * 1024

    /// Creates (or truncates) `path` and writes the header line.
    public convenience init(path: String, header: RecordEntry) throws {
        try self.init(path: path)
        try append(header)
    }

    /// Writes `lines` (plain text, one per line) as an LZ4 frame file: side files such as a
    /// fixture's expected events, readable with `lz4 -dc` and ``RecordingReader/rawLines``.
    public static func writeLines(_ lines: [String], to path: String) throws {
        let w = try RecordingWriter(path: path)
        for line in lines {
            w.pending.append(contentsOf: Array(line.utf8))
            w.pending.append(UInt8(ascii: "\n"))
            if w.pending.count >= Self.blockSize { try w.compressPending() }
        }
        try w.close()
    }

    /// Creates (or truncates) `path` and starts the LZ4 frame; nothing written yet.
    private init(path: String) throws {
        self.path = path
        guard FileManager.default.createFile(atPath: path, contents: nil),
              let handle = FileHandle(forWritingAtPath: path) else {
            throw RecordingError(path: path, problem: "cannot create the file")
        }
        self.handle = handle
        encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var ctx: OpaquePointer?
        let rc = LZ4F_createCompressionContext(&ctx, UInt32(LZ4F_VERSION))
        guard LZ4F_isError(rc) == 0, let ctx else {
            throw RecordingError(path: path, problem: "LZ4 context: \(Self.lz4Error(rc))")
        }
        context = ctx
        prefs.frameInfo.blockSizeID = LZ4F_max256KB
        prefs.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled
        output = [UInt8](repeating: 0, count: Int(LZ4F_HEADER_SIZE_MAX))
        let n = output.withUnsafeMutableBytes { LZ4F_compressBegin(ctx, $0.baseAddress, $0.count, &prefs) }
        guard LZ4F_isError(n) == 0 else { throw RecordingError(path: path, problem: "LZ4 begin: \(Self.lz4Error(n))") }
        try write(output.prefix(n))
    }

    deinit {
        if !closed { try? close() }
        if let context { LZ4F_freeCompressionContext(context) }
    }

    /// Appends one entry; its `seq` is set to its position in the file.
    @discardableResult
    public func append(_ entry: RecordEntry) throws -> Int64 {
        precondition(!closed, "append after close")
        var entry = entry
        entry.seq = nextSeq
        nextSeq += 1
        pending.append(contentsOf: try encoder.encode(entry))
        pending.append(UInt8(ascii: "\n"))
        if pending.count >= Self.blockSize { try compressPending() }
        return entry.seq
    }

    public var count: Int64 { nextSeq }

    /// Compresses and writes what is buffered (the LZ4 frame stays open).
    public func flush() throws {
        try compressPending()
        let bound = LZ4F_compressBound(0, &prefs)
        ensureOutput(bound)
        let n = output.withUnsafeMutableBytes { LZ4F_flush(context, $0.baseAddress, $0.count, nil) }
        guard LZ4F_isError(n) == 0 else { throw RecordingError(path: path, problem: "LZ4 flush: \(Self.lz4Error(n))") }
        try write(output.prefix(n))
    }

    /// Ends the LZ4 frame and closes the file.
    public func close() throws {
        guard !closed else { return }
        closed = true
        try compressPending()
        ensureOutput(LZ4F_compressBound(0, &prefs))
        let n = output.withUnsafeMutableBytes { LZ4F_compressEnd(context, $0.baseAddress, $0.count, nil) }
        guard LZ4F_isError(n) == 0 else { throw RecordingError(path: path, problem: "LZ4 end: \(Self.lz4Error(n))") }
        try write(output.prefix(n))
        try handle.synchronize()
        try handle.close()
    }

    private func compressPending() throws {
        guard !pending.isEmpty else { return }
        ensureOutput(LZ4F_compressBound(pending.count, &prefs))
        let n = pending.withUnsafeBytes { src in
            output.withUnsafeMutableBytes { dst in
                LZ4F_compressUpdate(context, dst.baseAddress, dst.count, src.baseAddress, src.count, nil)
            }
        }
        guard LZ4F_isError(n) == 0 else { throw RecordingError(path: path, problem: "LZ4 compress: \(Self.lz4Error(n))") }
        pending.removeAll(keepingCapacity: true)
        try write(output.prefix(n))
    }

    private func ensureOutput(_ size: Int) {
        if output.count < size { output = [UInt8](repeating: 0, count: size) }
    }

    private func write(_ bytes: ArraySlice<UInt8>) throws {
        guard !bytes.isEmpty else { return }
        try handle.write(contentsOf: Data(bytes))
    }

    static func lz4Error(_ code: Int) -> String {
        String(cString: LZ4F_getErrorName(code))
    }
}

/// Reads a recording written by ``RecordingWriter`` (or any LZ4-frame JSON-lines file),
/// entry by entry. A plain (uncompressed) JSON-lines file is accepted too.
public struct RecordingReader: Sequence {
    public let path: String
    private let lines: [ArraySlice<UInt8>]

    public init(path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RecordingError(path: path, problem: "cannot read the file")
        }
        try self.init(bytes: [UInt8](data), path: path)
    }

    /// A recording already in memory (`path` only names it in errors).
    public init(bytes raw: [UInt8], path: String) throws {
        self.path = path
        var text: [UInt8]
        if raw.count >= 4, raw[0] == 0x04, raw[1] == 0x22, raw[2] == 0x4D, raw[3] == 0x18 {
            let (bytes, complete) = try Self.decompress(raw, path: path)
            text = bytes
            // A file whose writer never closed it (a crash, a kill) can end mid-line.
            if !complete, let lastNewline = text.lastIndex(of: UInt8(ascii: "\n")) {
                text.removeSubrange((lastNewline + 1)...)
            } else if !complete {
                text.removeAll()
            }
        } else {
            text = raw
        }
        lines = text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true)
    }

    /// Whether bytes start with the LZ4 frame magic number.
    public static func isLZ4(_ bytes: [UInt8]) -> Bool {
        bytes.starts(with: [0x04, 0x22, 0x4D, 0x18])
    }

    /// All entries, or the first line that is not a valid entry as an error.
    public func entries() throws -> [RecordEntry] {
        let decoder = JSONDecoder()
        var out: [RecordEntry] = []
        out.reserveCapacity(lines.count)
        for (i, line) in lines.enumerated() {
            do {
                out.append(try decoder.decode(RecordEntry.self, from: Data(line)))
            } catch {
                throw RecordingError(path: path, problem: "not a recording entry (\(error))", line: Int64(i + 1))
            }
        }
        return out
    }

    /// The raw lines (for tools that want the JSON as written).
    public var rawLines: [ArraySlice<UInt8>] { lines }

    public func makeIterator() -> AnyIterator<RecordEntry> {
        let decoder = JSONDecoder()
        var index = 0
        let lines = self.lines
        return AnyIterator {
            while index < lines.count {
                defer { index += 1 }
                if let e = try? decoder.decode(RecordEntry.self, from: Data(lines[index])) { return e }
            }
            return nil
        }
    }

    /// The decompressed bytes, and whether the frame was complete (its end mark was read).
    static func decompress(_ input: [UInt8], path: String) throws -> ([UInt8], Bool) {
        var dctx: OpaquePointer?
        let rc = LZ4F_createDecompressionContext(&dctx, UInt32(LZ4F_VERSION))
        guard LZ4F_isError(rc) == 0, let dctx else {
            throw RecordingError(path: path, problem: "LZ4 context: \(RecordingWriter.lz4Error(rc))")
        }
        defer { LZ4F_freeDecompressionContext(dctx) }
        var out: [UInt8] = []
        out.reserveCapacity(input.count * 4)
        var chunk = [UInt8](repeating: 0, count: 1 << 20)
        var offset = 0
        var lastHint = 0
        while true {
            var srcSize = input.count - offset
            var dstSize = chunk.count
            let hint = input.withUnsafeBytes { src in
                chunk.withUnsafeMutableBytes { dst in
                    LZ4F_decompress(dctx, dst.baseAddress, &dstSize, src.baseAddress! + offset, &srcSize, nil)
                }
            }
            guard LZ4F_isError(hint) == 0 else {
                throw RecordingError(path: path, problem: "LZ4 data is corrupt: \(RecordingWriter.lz4Error(hint))")
            }
            out.append(contentsOf: chunk.prefix(dstSize))
            offset += srcSize
            lastHint = hint
            // Done when the input is used up and nothing more comes out. A file still being
            // written (no end mark yet) yields everything flushed so far.
            if offset >= input.count && (dstSize == 0 || hint == 0) { break }
        }
        return (out, lastHint == 0)
    }
}
