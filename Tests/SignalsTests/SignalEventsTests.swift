import Foundation
import Signals
import Testing
import TradelogCore

@Suite struct SignalEventsTests {
    static let body = Array(SignalSamples.seedExample.utf8)
    static let id = "550e8400-e29b-41d4-a716-446655440000"
    static let queue = "model-service.trading_signals"
    static let receiveTime = Timestamp(microsecondsSinceEpoch: 1_764_106_500_125_311)

    static var registry: EventRegistry {
        var r = EventRegistry()
        SignalEvents.register(&r)
        return r
    }

    @Test func receivedEventIDsAndStreamsAreDeterministic() throws {
        let signal = try SignalParser.parse(Self.body).get()
        let expectedID = DeterministicID.uuid5(namespace: DeterministicID.namespace, name: "SignalReceived/" + Self.id)
        #expect(SignalEvents.receivedEventID(signalID: Self.id) == expectedID)
        #expect(SignalEvents.receivedEventID(signalID: Self.id.uppercased()) == expectedID)

        let (stream, event) = try SignalEvents.received(
            signal: signal, body: Self.body, queue: Self.queue, redelivered: false,
            receiveTime: Self.receiveTime, messageID: "msg-1")
        #expect(stream == "signal-" + Self.id)
        #expect(StreamName.category(of: stream) == "signal")
        #expect(StreamName.problem(with: stream) == nil)
        #expect(event.eventID == expectedID)
        #expect(event.type == "SignalReceived")
        #expect(event.schemaVersion == 1)
        #expect(event.metadata == EventMetadata(
            correlationID: Self.id, causationID: "msg-1", traceID: "trace-12345",
            source: "signals:model-service.trading_signals", receiveTime: Self.receiveTime))

        // A redelivery yields the very same event (same id, same bytes): appending it is a no-op.
        let (stream2, again) = try SignalEvents.received(
            signal: signal, body: Self.body, queue: Self.queue, redelivered: false,
            receiveTime: Self.receiveTime, messageID: "msg-1")
        #expect(stream2 == stream && again.eventID == event.eventID && again.data == event.data)

        let decoded = try Self.registry.decode(type: event.type, schemaVersion: event.schemaVersion, data: event.data)
        let received = try #require(decoded as? SignalReceived)
        #expect(received.signal == signal)
        #expect(received.bodySHA256 == SignalEvents.bodySHA256(Self.body))
        #expect(received.queue == Self.queue && received.redelivered == false)
        let text = String(decoding: event.data, as: UTF8.self)
        #expect(text.hasPrefix("{\"body_sha256\":\""))
        #expect(text.contains("\"queue\":\"model-service.trading_signals\",\"redelivered\":false,\"signal\":{\"amount\":500,"))
    }

    @Test func bodyDigestIsSHA256Hex() {
        #expect(SignalEvents.bodySHA256(Array("abc".utf8))
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SignalEvents.bodySHA256([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func rejectedEventsAreKeyedByBody() throws {
        let body = Array(#"{"signal_id":"abc","trace_id":"t-9"}"#.utf8)
        let rejection = try #require(SignalParser.parse(body).failure)
        let hex = SignalEvents.bodySHA256(body)
        let expectedID = DeterministicID.uuid5(namespace: DeterministicID.namespace, name: "SignalRejected/" + hex)
        let (stream, event) = try SignalEvents.rejected(
            rejection, body: body, queue: Self.queue, receiveTime: Self.receiveTime, messageID: nil)
        #expect(event.eventID == expectedID)
        #expect(stream == "signal.rejected-" + expectedID.lowercasedString)
        #expect(StreamName.category(of: stream) == "signal.rejected")
        #expect(event.type == "SignalRejected")
        #expect(event.metadata == EventMetadata(
            correlationID: "abc", causationID: nil, traceID: "t-9",
            source: "signals:model-service.trading_signals", receiveTime: Self.receiveTime))

        // The same bad body again, even with another message id: the same event.
        let (_, again) = try SignalEvents.rejected(
            rejection, body: body, queue: Self.queue, receiveTime: Timestamp(microsecondsSinceEpoch: 9), messageID: "m2")
        #expect(again.eventID == event.eventID)

        let payload = try #require(
            try Self.registry.decode(type: event.type, schemaVersion: 1, data: event.data) as? SignalRejected)
        #expect(payload.rejection == rejection)
        #expect(payload.reason == .invalidField && payload.field == "signal_id")
        #expect(payload.body == String(decoding: body, as: UTF8.self) && payload.bodyBase64 == nil)
        #expect(payload.storedBody == body)
        #expect(payload.bodySHA256 == hex && payload.bodyBytes == body.count && !payload.bodyTruncated)
        #expect(payload.queue == Self.queue)
        let text = String(decoding: event.data, as: UTF8.self)
        for key in ["\"reason\":\"invalid_field\"", "\"field\":\"signal_id\"", "\"detail\":", "\"signal_id\":\"abc\"",
                    "\"body\":", "\"body_sha256\":\"\(hex)\"", "\"body_bytes\":\(body.count)", "\"queue\":"] {
            #expect(text.contains(key), "\(key)")
        }
    }

    @Test func bodiesThatAreNotTextAreStoredAsBase64() throws {
        for body in [[0xFF, 0xFE, 0x00, 0x7B], Array("{\"a\":\"x\u{0}\"}".utf8), [0x7B, 0xC3]] as [[UInt8]] {
            let rejection = try #require(SignalParser.parse(body).failure)
            let (_, event) = try SignalEvents.rejected(rejection, body: body, queue: "q", receiveTime: nil, messageID: nil)
            let payload = try CanonicalJSON.decoder.decode(SignalRejected.self, from: Data(event.data))
            #expect(payload.body == nil)
            #expect(payload.bodyBase64 == Data(body).base64EncodedString())
            #expect(payload.storedBody == body)
            #expect(!Self.holdsNUL(try JSONValue.parse(Data(event.data))))
        }
    }

    @Test func oversizedBodiesAreTruncatedButHashedWhole() throws {
        let body = [UInt8](repeating: UInt8(ascii: "a"), count: SignalParser.maxBodyBytes + 10)
        let rejection = try #require(SignalParser.parse(body).failure)
        #expect(rejection.reason == .bodyTooLarge)
        let payload = SignalRejected(rejection, body: body, queue: "q")
        #expect(payload.bodyTruncated)
        #expect(payload.bodyBytes == body.count)
        #expect(payload.bodySHA256 == SignalEvents.bodySHA256(body))
        #expect(payload.storedBody == Array(body.prefix(SignalRejected.maxStoredBodyBytes)))
    }

    @Test func redeliveryIsToldFromADuplicateID() throws {
        let signal = try SignalParser.parse(Self.body).get()
        let (_, event) = try SignalEvents.received(
            signal: signal, body: Self.body, queue: Self.queue, redelivered: false, receiveTime: nil, messageID: nil)
        let logged = try CanonicalJSON.decoder.decode(SignalReceived.self, from: Data(event.data))

        #expect(logged.matches(body: Self.body))
        #expect(SignalDisposition(existing: logged, body: Self.body) == .redelivery)
        #expect(SignalDisposition(existing: nil, body: Self.body) == .new)

        // Same id, other content (even only other spacing): a duplicate.
        let other = SeedBody().with("amount", "600").bytes
        let otherSignal = try SignalParser.parse(other).get()
        #expect(otherSignal.signalID == signal.signalID)
        #expect(!logged.matches(body: other))
        #expect(SignalDisposition(existing: logged, body: other) == .duplicate)
        #expect(SignalDisposition(existing: logged, body: Self.body + [0x20]) == .duplicate)

        let (stream, dup) = try SignalEvents.duplicate(
            signal: otherSignal, body: other, queue: Self.queue, receiveTime: Self.receiveTime, messageID: "m-7")
        let hex = SignalEvents.bodySHA256(other)
        let expectedID = DeterministicID.uuid5(
            namespace: DeterministicID.namespace, name: "SignalRejected/duplicate/\(Self.id)/\(hex)")
        #expect(dup.eventID == expectedID)
        #expect(dup.eventID == SignalEvents.duplicateEventID(signalID: Self.id, bodySHA256: hex))
        #expect(dup.eventID != SignalEvents.rejectedEventID(bodySHA256: hex))
        #expect(stream == "signal.rejected-" + expectedID.lowercasedString)
        #expect(dup.type == "SignalRejected")
        #expect(dup.metadata.correlationID == Self.id && dup.metadata.causationID == "m-7")
        #expect(dup.metadata.traceID == "trace-12345" && dup.metadata.source == "signals:" + Self.queue)
        let payload = try CanonicalJSON.decoder.decode(SignalRejected.self, from: Data(dup.data))
        #expect(payload.reason == .duplicateSignalID && payload.field == "signal_id" && payload.signalID == Self.id)
        #expect(payload.storedBody == other)
    }

    @Test func generatedSignalIsTheBareSeedShape() throws {
        let signal = try SignalParser.parse(Self.body).get()
        let event = try NewEvent(eventID: UUID(), payload: SignalGenerated(signal: signal))
        #expect(event.type == "SignalGenerated")
        #expect(String(decoding: event.data, as: UTF8.self) == TradingSignalTests.seedCanonical)
        let decoded = try Self.registry.decode(type: "SignalGenerated", schemaVersion: 1, data: event.data)
        #expect((decoded as? SignalGenerated)?.signal == signal)
        #expect(Self.registry.isRegistered("SignalReceived") && Self.registry.isRegistered("SignalRejected"))
    }

    @Test func encodingIsDeterministic() throws {
        // The same signal from differently spelled bodies encodes to the same bytes.
        var reordered = SeedBody()
        reordered.members.reverse()
        let spaced = SeedBody().with("amount", "5.00e2").with("confidence", "0.9000")
        let signals = try [Self.body, reordered.bytes, spaced.bytes].map { try SignalParser.parse($0).get() }
        let encodings = try signals.map { Array(try CanonicalJSON.encoder.encode($0)) }
        #expect(Set(encodings).count == 1)
        for i in 0..<200 {
            let signal = try SignalParser.parse(SignalSamples.valid(index: i, seed: 3)).get()
            let a = try CanonicalJSON.encoder.encode(signal)
            let b = try CanonicalJSON.encoder.encode(try CanonicalJSON.decoder.decode(TradingSignal.self, from: a))
            #expect(a == b)
            let (_, e1) = try SignalEvents.received(signal: signal, body: [1], queue: "q", redelivered: true,
                                                    receiveTime: nil, messageID: nil)
            let (_, e2) = try SignalEvents.received(signal: signal, body: [1], queue: "q", redelivered: true,
                                                    receiveTime: nil, messageID: nil)
            #expect(e1.data == e2.data && e1.eventID == e2.eventID)
        }
    }

    /// PostgreSQL's jsonb and text refuse U+0000: no rejection may carry one (the fuzzed
    /// bodies of the intake test found texts that echoed a `\u0000` from the body).
    @Test func rejectionsNeverCarryUPlus0000() throws {
        for sample in SignalSamples.malformed(count: 5000, seed: 2026) {
            guard case .failure(let rejection) = SignalParser.parse(sample.body) else { continue }
            let (_, event) = try SignalEvents.rejected(rejection, body: sample.body, queue: "q", receiveTime: nil, messageID: nil)
            #expect(!Self.holdsNUL(try JSONValue.parse(Data(event.data))))
            for text in [event.metadata.traceID, event.metadata.correlationID].compactMap({ $0 }) {
                #expect(!text.unicodeScalars.contains("\u{0}"))
            }
        }
    }

    static func holdsNUL(_ v: JSONValue) -> Bool {
        switch v {
        case .string(let s): s.unicodeScalars.contains("\u{0}")
        case .array(let a): a.contains(where: holdsNUL)
        case .object(let o): o.contains { $0.key.unicodeScalars.contains("\u{0}") || holdsNUL($0.value) }
        default: false
        }
    }
}
