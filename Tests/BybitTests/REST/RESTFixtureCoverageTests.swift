import Foundation
import Testing
@testable import Bybit

/// Every REST fixture decodes with its model, and no `http_*` fixture goes unassigned.
@Suite("REST fixture coverage")
struct RESTFixtureCoverageTests {
    /// How each captured file must decode: `nil` = an API error is expected.
    static let captured: [String: (@Sendable ([UInt8]) throws -> Void)?] = [
        "http_error_10001_params.json": nil,
        "http_error_10002_recv_window.json": nil,
        "http_error_10004_sign.json": nil,
        "http_error_10010_ip.json": nil,
        "http_error_110001_order_not_exist.json": nil,
        "http_error_110003_price_range.json": nil,
        "http_error_110007_insufficient.json": nil,
        "http_error_110017_reduce_only.json": nil,
        "http_error_110043_leverage_not_modified.json": nil,
        "http_instruments_info_linear_2023.json": { _ = try RESTEnvelopeDecoder.decode(RESTPage<RESTInstrument>.self, from: $0) },
        "http_instruments_info_linear_btcusdt_2023.json": { _ = try RESTEnvelopeDecoder.decode(RESTPage<RESTInstrument>.self, from: $0) },
        "http_instruments_info_spot_2023.json": { _ = try RESTEnvelopeDecoder.decode(RESTPage<RESTInstrument>.self, from: $0) },
        "http_kline_linear_2023.json": { _ = try RESTEnvelopeDecoder.decode(RESTKlines.self, from: $0) },
        "http_kline_linear_testnet_2023.json": { _ = try RESTEnvelopeDecoder.decode(RESTKlines.self, from: $0) },
        "http_kline_spot_testnet_2023.json": { _ = try RESTEnvelopeDecoder.decode(RESTKlines.self, from: $0) },
        "http_order_cancel_all_empty.json": { _ = try RESTEnvelopeDecoder.decode(RESTCancelAllResult.self, from: $0) },
        "http_order_cancel_linear.json": { _ = try RESTEnvelopeDecoder.decode(RESTOrderAck.self, from: $0) },
        "http_order_create_linear.json": { _ = try RESTEnvelopeDecoder.decode(RESTOrderAck.self, from: $0) },
        "http_order_realtime_empty.json": { _ = try RESTEnvelopeDecoder.decode(RESTPage<RESTOrder>.self, from: $0) },
        "http_order_realtime_linear_2023.json": { _ = try RESTEnvelopeDecoder.decode(RESTPage<RESTOrder>.self, from: $0) },
        "http_order_realtime_linear_testnet.json": { _ = try RESTEnvelopeDecoder.decode(RESTPage<RESTOrder>.self, from: $0) },
        "http_orderbook_linear_2023.json": { _ = try RESTEnvelopeDecoder.decode(RESTOrderbook.self, from: $0) },
        "http_orderbook_spot_testnet.json": { _ = try RESTEnvelopeDecoder.decode(RESTOrderbook.self, from: $0) },
        // A list item only, no envelope.
        "http_position_list_item_2023.json": { _ = try JSONDecoder().decode(RESTPosition.self, from: Data($0)) },
        "http_recent_trade_spot_testnet.json": { _ = try RESTEnvelopeDecoder.decode(RESTList<RESTPublicTrade>.self, from: $0) },
        "http_server_time.json": { _ = try RESTEnvelopeDecoder.decode(RESTServerTime.self, from: $0) },
        "http_wallet_balance_unified_testnet.json": { _ = try RESTEnvelopeDecoder.decode(RESTWalletBalance.self, from: $0) },
        // Line-by-line files, checked in RESTEnvelopeTests.
        "http_responses_mixed_moxt_2023.jsonl": { _ in },
        "http_errors_ccxt_comments.jsonl": { _ in },
    ]

    static let docs: [String: @Sendable ([UInt8]) throws -> Void] = [
        "http_execution_list.json": { _ = try RESTEnvelopeDecoder.decode(RESTPage<RESTExecution>.self, from: $0) },
        "http_funding_history.json": { _ = try RESTEnvelopeDecoder.decode(RESTList<RESTFundingRate>.self, from: $0) },
        "http_instruments_info.json": { _ = try RESTEnvelopeDecoder.decode(RESTPage<RESTInstrument>.self, from: $0) },
        "http_kline.json": { _ = try RESTEnvelopeDecoder.decode(RESTKlines.self, from: $0) },
        "http_order_amend.json": { _ = try RESTEnvelopeDecoder.decode(RESTOrderAck.self, from: $0) },
        "http_order_cancel.json": { _ = try RESTEnvelopeDecoder.decode(RESTOrderAck.self, from: $0) },
        "http_order_cancel_all.json": { _ = try RESTEnvelopeDecoder.decode(RESTCancelAllResult.self, from: $0) },
        "http_order_create.json": { _ = try RESTEnvelopeDecoder.decode(RESTOrderAck.self, from: $0) },
        "http_order_history.json": { _ = try RESTEnvelopeDecoder.decode(RESTPage<RESTOrder>.self, from: $0) },
        "http_order_realtime.json": { _ = try RESTEnvelopeDecoder.decode(RESTPage<RESTOrder>.self, from: $0) },
        "http_orderbook.json": { _ = try RESTEnvelopeDecoder.decode(RESTOrderbook.self, from: $0) },
        "http_position_list.json": { _ = try RESTEnvelopeDecoder.decode(RESTPage<RESTPosition>.self, from: $0) },
        "http_recent_trade.json": { _ = try RESTEnvelopeDecoder.decode(RESTList<RESTPublicTrade>.self, from: $0) },
        "http_tickers.json": { _ = try RESTEnvelopeDecoder.decode(RESTList<RESTTicker>.self, from: $0) },
        "http_wallet_balance.json": { _ = try RESTEnvelopeDecoder.decode(RESTWalletBalance.self, from: $0) },
    ]

    private static func httpFiles(in directory: URL) throws -> Set<String> {
        Set(try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasPrefix("http_") })
    }

    @Test("every captured http_* fixture is assigned and decodes")
    func captured() throws {
        #expect(try Self.httpFiles(in: RESTFixture.directory) == Set(Self.captured.keys))
        for (file, check) in Self.captured.sorted(by: { $0.key < $1.key }) {
            let bytes = try RESTFixture.bytes(file)
            if let check {
                #expect(throws: Never.self, "\(file)") { try check(bytes) }
            } else {
                #expect(throws: BybitAPIError.self, "\(file)") {
                    try RESTEnvelopeDecoder.decode(RESTEmptyResult.self, from: bytes)
                }
            }
        }
    }

    @Test("every docs_examples/http_* example decodes")
    func docsExamples() throws {
        let directory = RESTFixture.directory.appendingPathComponent("docs_examples")
        #expect(try Self.httpFiles(in: directory) == Set(Self.docs.keys))
        for (file, check) in Self.docs.sorted(by: { $0.key < $1.key }) {
            for (index, example) in try RESTFixture.docExamples(file).enumerated() {
                #expect(throws: Never.self, "\(file)[\(index)]") { try check(example) }
            }
        }
    }
}
