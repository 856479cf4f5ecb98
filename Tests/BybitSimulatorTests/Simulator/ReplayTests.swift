import Foundation
import Recording
import Testing
@testable import BybitSimulator

@Suite("Fixture replay")
struct ReplayTests {
    /// The 50-line XRPUSDT orderbook.500 capture as recording entries, 10 ms apart.
    func entries() throws -> [RecordEntry] {
        var out = [RecordEntry.header(t: 0)]
        for (n, line) in try Fixtures.lines("seq_linear_orderbook500_XRPUSDT_2024-12-01.jsonl").enumerated() {
            out.append(RecordEntry(t: 1_000_000 + Int64(n) * 10_000, kind: .frame, conn: "linear-1", channel: "linear", text: line))
        }
        // A duplicate copy on a second connection must not be played twice.
        out.append(RecordEntry(t: 1_000_001, kind: .frame, conn: "linear-2", channel: "linear", text: out[1].text))
        return out
    }

    @Test func playsFramesVerbatimInOrder() throws {
        let lines = try Fixtures.lines("seq_linear_orderbook500_XRPUSDT_2024-12-01.jsonl")
        var feed = try ReplayFeed(entries: entries(), configured: [])
        #expect(feed.frameCount == lines.count)
        let i = try #require(feed.instrument(MarketKey(.linear, "XRPUSDT")))
        #expect(i.tickSize == fx("0.0001") && i.qtyStep == fx("1") && i.priceScale == 4)
        let first = feed.advance(toRecordedTime: 1_000_000 + 45_000)
        #expect(first.frames.count == 5)
        #expect(first.frames.map { String(decoding: $0.bytes, as: UTF8.self) } == Array(lines.prefix(5)))
        #expect(first.changed == [MarketKey(.linear, "XRPUSDT")])
        let rest = feed.advance(count: 1_000)
        #expect(rest.frames.count == lines.count - 5 && feed.finished)
    }

    @Test("an in-process replay plays the same market without listing the frames")
    func playsWithoutForwarding() throws {
        var forwarded = try ReplayFeed(entries: entries(), configured: [])
        var silent = forwarded
        let a = forwarded.advance(toRecordedTime: 1_000_000 + 245_000)
        let b = silent.advance(toRecordedTime: 1_000_000 + 245_000, forwarding: false)
        #expect(a.frames.count == 25 && b.frames.isEmpty)
        #expect(a.changed == b.changed)
        #expect(forwarded.book(MarketKey(.linear, "XRPUSDT")) == silent.book(MarketKey(.linear, "XRPUSDT")))
    }

    /// A late subscriber's snapshot equals the book rebuilt from the frames, with the last `u`.
    @Test func lateSubscriberSnapshot() throws {
        let lines = try Fixtures.lines("seq_linear_orderbook500_XRPUSDT_2024-12-01.jsonl")
        var feed = try ReplayFeed(entries: entries(), configured: [])
        _ = feed.advance(count: 20)
        let snap = object(try #require(feed.snapshot(category: .linear, topic: "orderbook.500.XRPUSDT")))
        #expect(snap["type"] as? String == "snapshot")
        let data = snap["data"] as! [String: Any]
        let last = object(lines[19])["data"] as! [String: Any]
        #expect(data["u"] as? Int64 == last["u"] as? Int64)
        var book = OrderBook()
        for (n, line) in lines.prefix(20).enumerated() {
            let d = object(line)["data"] as! [String: Any]
            let b = (d["b"] as! [[String]]).map { BookLevel(price: fx($0[0]), size: fx($0[1])) }
            let a = (d["a"] as! [[String]]).map { BookLevel(price: fx($0[0]), size: fx($0[1])) }
            if n == 0 { book.replace(bids: b, asks: a) } else {
                for l in b { book.set(.bid, price: l.price, size: l.size) }
                for l in a { book.set(.ask, price: l.price, size: l.size) }
            }
        }
        #expect(feed.book(MarketKey(.linear, "XRPUSDT")) == book)
        let bids = (data["b"] as! [[String]]).map { BookLevel(price: fx($0[0]), size: fx($0[1])) }
        #expect(bids == book.bids)
        #expect((data["b"] as! [[String]])[0][0].split(separator: ".").last?.count == 4)  // written like the capture
    }

    @Test func readsRecordingFiles() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sim-replay-\(getpid()).lz4").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let all = try entries()
        let writer = try RecordingWriter(path: path, header: all[0])
        for e in all.dropFirst() { try writer.append(e) }
        try writer.close()
        var feed = try ReplayFeed(path: path, configured: [])
        #expect(feed.frameCount == all.count - 2)
        _ = feed.advance(count: 1)
        #expect(feed.book(MarketKey(.linear, "XRPUSDT")).bids.count == 500)
    }

    /// Orders match against the replayed book.
    @Test func ordersMatchAgainstTheReplayedBook() throws {
        var feed = try ReplayFeed(entries: entries(), configured: [])
        _ = feed.advance(count: 1)
        var venue = Venue(instruments: feed.instruments, accounts: [testAccount()], secrets: [:], fees: FeeSchedule(),
                          generated: nil, replay: feed)
        let ctx = try #require(venue.context(MarketKey(.linear, "XRPUSDT")))
        #expect(ctx.book.bestAsk?.price == fx("1.9532"))
        let (o, u) = try venue.matching.place(OrderRequest(category: .linear, symbol: "XRPUSDT", side: .buy, kind: .market, qty: fx("100")),
                                              account: &venue.accounts["k"]!, market: ctx, prices: venue.prices, now: 1)
        #expect(o.status == .filled && u.executions.first?.execPrice == fx("1.9532"))
    }
}
