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
                buffer.append(contentsOf: #"{"type":"#.utf8)
                JSONText.appendString(e.type, to: &buffer)
                buffer.append(contentsOf: #","stream":"#.utf8)
                JSONText.appendString(e.stream, to: &buffer)
                buffer.append(contentsOf: #","data":"#.utf8)
                buffer.append(contentsOf: e.data)
                buffer.append(contentsOf: "}\n".utf8)
            }
            if controls, let c = output.control {
                buffer.append(contentsOf: #"{"control":"#.utf8)
                JSONText.appendString(String(describing: c), to: &buffer)
                buffer.append(contentsOf: "}\n".utf8)
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
                    emit(d.decode(Array((entry.text ?? "").utf8), receivedAt: Timestamp(microsecondsSinceEpoch: entry.t)))
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

/// Minimal JSON string escaping for the CLI's own output lines.
enum JSONText {
    static func appendString(_ s: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out.append(contentsOf: [92, 34])
            case UInt8(ascii: "\\"): out.append(contentsOf: [92, 92])
            case 0x0A: out.append(contentsOf: [92, 110])
            case 0x0D: out.append(contentsOf: [92, 114])
            case 0x09: out.append(contentsOf: [92, 116])
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out.append(contentsOf: [92, 117, 48, 48, hex[Int(b >> 4)], hex[Int(b & 15)]])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
