import ArgumentParser
import Bybit
import Foundation
import Recording
import TradelogCore

struct Decode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode Bybit WebSocket frames (one JSON object per line) into tradelog events.",
        discussion: """
            Runs the frames, in order, through the same decoders and order-book keeping as the \
            gateway and prints each resulting event as a JSON line \
            {"type": …, "stream": …, "data": {…}}. Control frames (acks, pongs) print as \
            {"control": …}. A recording (.lz4, see replay-fixtures/README.md) is accepted too: \
            its frames are decoded per connection with each connection's channel. Counts go to \
            stderr at the end.
            """)

    @Option(help: "The stream the frames came from: spot, linear, inverse or private.")
    var category: String = "linear"

    @Argument(help: "A file of frames, or - for stdin (default).")
    var file: String = "-"

    @Flag(help: "Also print control frames (acks, pongs, auth).")
    var controls = false

    func run() async throws {
        guard let channel = BybitChannel(rawValue: category) else {
            throw ValidationError("--category must be spot, linear, inverse or private, got \(category)")
        }
        let out = FileHandle.standardOutput
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 16)
        var decoders: [String: FrameDecoder] = [:]
        var totals = (frames: 0, events: 0, unparsed: 0, resyncs: 0)

        func emit(_ output: FrameOutput) {
            totals.frames += 1
            totals.resyncs += output.resync.count
            for e in output.events {
                totals.events += 1
                if e.type == "UnparsedFrame" || e.type == "UnknownTopicFrame" { totals.unparsed += 1 }
                var line = JSONWriter()
                line.beginObject()
                line.key("type")
                line.string(e.type)
                line.key("stream")
                line.string(e.stream)
                line.key("data")
                line.raw(e.data)
                line.endObject()
                buffer.append(contentsOf: line.take())
                buffer.append(UInt8(ascii: "\n"))
            }
            if controls, let c = output.control {
                var line = JSONWriter()
                line.beginObject()
                line.key("control")
                line.string(String(describing: c))
                line.endObject()
                buffer.append(contentsOf: line.take())
                buffer.append(UInt8(ascii: "\n"))
            }
            if buffer.count > 1 << 16 {
                out.write(Data(buffer))
                buffer.removeAll(keepingCapacity: true)
            }
        }

        let data: Data
        if file == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let d = FileManager.default.contents(atPath: file) else {
                throw ValidationError("cannot read \(file)")
            }
            data = d
        }
        let bytes = [UInt8](data)
        if RecordingReader.isLZ4(bytes) {
            let reader = try RecordingReader(bytes: bytes, path: file == "-" ? "stdin" : file)
            for entry in try reader.entries() {
                guard let conn = entry.conn, let ch = entry.channel.flatMap(BybitChannel.init(rawValue:)) else { continue }
                switch entry.kind {
                case .connect:
                    decoders[conn] = FrameDecoder(channel: ch)
                case .frame:
                    var d = decoders[conn] ?? FrameDecoder(channel: ch)
                    emit(d.decode(entry.body ?? [], receivedAt: Timestamp(microsecondsSinceEpoch: entry.t)))
                    decoders[conn] = d
                default:
                    break
                }
            }
        } else {
            var decoder = FrameDecoder(channel: channel)
            var line = 0
            for raw in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true) {
                line += 1
                // Receive times are the line numbers (µs) so the output is deterministic.
                emit(decoder.decode(Array(raw), receivedAt: Timestamp(microsecondsSinceEpoch: Int64(line))))
            }
        }
        out.write(Data(buffer))
        FileHandle.standardError.write(Data(
            "frames: \(totals.frames) events: \(totals.events) unparsed: \(totals.unparsed) resyncs: \(totals.resyncs)\n".utf8))
    }
}
