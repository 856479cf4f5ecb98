import Bybit
import Foundation
import OrderManagerCore
import Testing

private func d(_ text: String) -> Decimal { SizingFixtures.dec(text) }

@Suite("ReferencePricer")
struct ReferencePriceTests {
    let book = BidAsk(bid: 100, ask: 101)
    let ticker = BidAsk(bid: 99, ask: 102)

    @Test("buy takes the ask, sell the bid, from the book first")
    func fromBook() {
        #expect(ReferencePricer.reference(side: .buy, book: book, ticker: ticker, tickerLast: 98, snapshotPrice: 97)
                == ReferencePrice(price: 101, source: .book))
        #expect(ReferencePricer.reference(side: .sell, book: book, ticker: ticker, tickerLast: 98, snapshotPrice: 97)
                == ReferencePrice(price: 100, source: .book))
    }

    @Test("falls back book → ticker bid/ask → ticker last → snapshot → nil")
    func fallbacks() {
        // The book lacks the needed side: the ticker's side is used.
        #expect(ReferencePricer.reference(side: .buy, book: BidAsk(bid: 100, ask: nil), ticker: ticker, tickerLast: 98, snapshotPrice: 97)
                == ReferencePrice(price: 102, source: .ticker))
        #expect(ReferencePricer.reference(side: .sell, book: nil, ticker: ticker, tickerLast: 98, snapshotPrice: 97)
                == ReferencePrice(price: 99, source: .ticker))
        #expect(ReferencePricer.reference(side: .sell, book: nil, ticker: BidAsk(bid: nil, ask: 102), tickerLast: 98, snapshotPrice: 97)
                == ReferencePrice(price: 98, source: .ticker))
        #expect(ReferencePricer.reference(side: .buy, book: nil, ticker: nil, tickerLast: nil, snapshotPrice: 97)
                == ReferencePrice(price: 97, source: .snapshot))
        #expect(ReferencePricer.reference(side: .buy, book: nil, ticker: nil, tickerLast: nil, snapshotPrice: nil) == nil)
    }

    @Test("prices ≤ 0 are skipped")
    func nonPositive() {
        #expect(ReferencePricer.reference(side: .buy, book: BidAsk(bid: 100, ask: 0), ticker: BidAsk(bid: 1, ask: -1),
                                          tickerLast: 0, snapshotPrice: 97) == ReferencePrice(price: 97, source: .snapshot))
        #expect(ReferencePricer.reference(side: .sell, book: BidAsk(bid: 0, ask: 0), ticker: nil, tickerLast: nil, snapshotPrice: 0) == nil)
    }

    @Test("spread from the book: (ask − bid) / mid × 10 000")
    func spreadBook() {
        #expect(ReferencePricer.spreadBps(book: BidAsk(bid: d("99.99"), ask: d("100.01")), ticker: ticker,
                                          snapshotSpread: 1, snapshotPrice: 100) == 2)
        #expect(ReferencePricer.spreadBps(book: BidAsk(bid: 100, ask: 100), ticker: nil, snapshotSpread: nil, snapshotPrice: nil) == 0)
    }

    @Test("spread falls back to the ticker, then the snapshot; nil when unknown")
    func spreadFallbacks() {
        // A half book is skipped, as is a crossed one.
        #expect(ReferencePricer.spreadBps(book: BidAsk(bid: 100, ask: nil), ticker: BidAsk(bid: 95, ask: 105),
                                          snapshotSpread: 1, snapshotPrice: 100) == 1_000)
        #expect(ReferencePricer.spreadBps(book: BidAsk(bid: 101, ask: 100), ticker: BidAsk(bid: 95, ask: 105),
                                          snapshotSpread: 1, snapshotPrice: 100) == 1_000)
        #expect(ReferencePricer.spreadBps(book: nil, ticker: BidAsk(bid: 0, ask: 105),
                                          snapshotSpread: d("0.5"), snapshotPrice: 100) == 50)
        #expect(ReferencePricer.spreadBps(book: nil, ticker: nil, snapshotSpread: d("0.5"), snapshotPrice: 0) == nil)
        #expect(ReferencePricer.spreadBps(book: nil, ticker: nil, snapshotSpread: nil, snapshotPrice: 100) == nil)
    }
}
