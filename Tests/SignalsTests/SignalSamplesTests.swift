import Foundation
import Signals
import Testing
import TradelogCore

@Suite struct SignalSamplesTests {
    @Test func tenThousandMalformedBodiesAreAllRejectedAsStated() throws {
        let samples = SignalSamples.malformed(count: 10_000, seed: 2025)
        #expect(samples.count == 10_000)
        #expect(Set(samples.map(\.body)).count == 10_000)
        var byReason: [SignalRejectionReason: Int] = [:]
        var mismatches: [String] = []
        for (i, sample) in samples.enumerated() {
            switch SignalParser.parse(sample.body) {
            case .success(let signal):
                mismatches.append("#\(i) accepted: \(signal.signalID) \(String(decoding: sample.body.prefix(300), as: UTF8.self))")
            case .failure(let rejection):
                byReason[rejection.reason, default: 0] += 1
                #expect(!rejection.detail.isEmpty)
                if rejection.reason != sample.expected {
                    mismatches.append("#\(i) expected \(sample.expected), got \(rejection): "
                        + String(decoding: sample.body.prefix(300), as: UTF8.self))
                }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) mismatches, first: \(mismatches.prefix(5))")
        // Every parse-time reason is exercised, and none dominates.
        let expected = Set(SignalRejectionReason.allCases).subtracting([.duplicateSignalID, .storageRefused])
        #expect(Set(byReason.keys) == expected)
        #expect(byReason.values.allSatisfy { $0 >= 10 })
    }

    @Test func malformedIsDeterministic() {
        let a = SignalSamples.malformed(count: 500, seed: 11)
        let b = SignalSamples.malformed(count: 500, seed: 11)
        let c = SignalSamples.malformed(count: 500, seed: 12)
        #expect(a.map(\.body) == b.map(\.body) && a.map(\.expected) == b.map(\.expected))
        #expect(a.map(\.body) != c.map(\.body))
        #expect(SignalSamples.malformed(count: 0, seed: 1).isEmpty)
    }

    @Test func thousandValidBodiesParseWithDistinctIDs() throws {
        var ids = Set<String>()
        var assets = Set<String>()
        var types = Set<TradingSignal.SignalType>()
        var shapes = (pretty: 0, noSnapshot: 0, offset: 0, exponentAmount: 0)
        for i in 0..<1000 {
            let body = SignalSamples.valid(index: i, seed: 99)
            let signal = try SignalParser.parse(body).get()
            #expect(signal.signalID == SignalSamples.signalID(index: i, seed: 99))
            #expect(signal.validate() == nil)
            ids.insert(signal.signalID)
            assets.insert(signal.asset)
            types.insert(signal.signalType)
            let text = String(decoding: body, as: UTF8.self)
            if text.contains("\n") { shapes.pretty += 1 }
            if signal.marketDataSnapshot == nil { shapes.noSnapshot += 1 }
            if !signal.timestamp.hasSuffix("Z") { shapes.offset += 1 }
            if text.contains("e-2,") { shapes.exponentAmount += 1 }
            // The log's copy decodes to the same signal.
            let data = try CanonicalJSON.encoder.encode(signal)
            #expect(try CanonicalJSON.decoder.decode(TradingSignal.self, from: data) == signal)
            #expect(body.count <= SignalParser.maxBodyBytes)
        }
        #expect(ids.count == 1000)
        #expect(assets.count >= 6 && types.count == 2)
        #expect(shapes.pretty > 100 && shapes.noSnapshot > 50 && shapes.offset > 100 && shapes.exponentAmount > 50)
    }

    @Test func validIsDeterministicAndSeedDependent() {
        #expect(SignalSamples.valid(index: 5, seed: 1) == SignalSamples.valid(index: 5, seed: 1))
        #expect(SignalSamples.valid(index: 5, seed: 1) != SignalSamples.valid(index: 5, seed: 2))
        #expect(SignalSamples.signalID(index: 5, seed: 1) != SignalSamples.signalID(index: 5, seed: 2))
        // Ids stay distinct far out (index bits are kept verbatim in the low half).
        let far = [0, 1, 1 << 20, 1 << 40, (1 << 62) - 1].map { SignalSamples.signalID(index: $0, seed: 5) }
        #expect(Set(far).count == far.count)
    }
}
