import Foundation
import Testing
import TradelogCore
@testable import Bybit

@Suite("REST envelope and errors")
struct RESTEnvelopeTests {
    /// Every `http_error_*.json`: HTTP 200 bodies that must become `BybitAPIError`.
    @Test("error fixtures decode to BybitAPIError with code and message",
          arguments: [
              ("http_error_10001_params.json", 10001, "params error: side invalid"),
              ("http_error_10002_recv_window.json", 10002, "invalid request, please check your server timestamp or recv_window param. req_timestamp[1696396708819],server_timestamp[1696396707813],recv_window[15000]"),
              ("http_error_10004_sign.json", 10004, "error sign! origin_string[1701783394711XXXXXXXXXXXXXXXXXX15000]"),
              ("http_error_10010_ip.json", 10010, "Unmatched IP, please check your API key's bound IP addresses."),
              ("http_error_110001_order_not_exist.json", 110001, "Order does not exist"),
              ("http_error_110003_price_range.json", 110003, "Order price is out of permissible range"),
              ("http_error_110007_insufficient.json", 110007, "ab not enough for new order"),
              ("http_error_110017_reduce_only.json", 110017, "Reduce-only rule not satisfied"),
              ("http_error_110043_leverage_not_modified.json", 110043, "Set leverage not modified"),
          ])
    func errorFixtures(file: String, code: Int, message: String) throws {
        let bytes = try RESTFixture.bytes(file)
        let error = try #require(throws: BybitAPIError.self) {
            try RESTEnvelopeDecoder.decode(RESTOrderAck.self, from: bytes, path: "/v5/order/create")
        }
        #expect(error.code == code)
        #expect(error.message == message)
        #expect(error.time != nil)
        #expect(error.extInfo == nil)  // `{}` is dropped
        #expect(error.path == "/v5/order/create")
        #expect(error.isTimestampError == (code == 10002))
        #expect(error.isSignatureError == (code == 10004))
        #expect(error.isOrderNotFound == (code == 110001))
        #expect(error.isInsufficientBalance == (code == 110007))
        #expect(!error.isRateLimit)
        #expect(!error.isDuplicateOrderLinkID)
    }

    @Test("10002 fixture carries the envelope time")
    func timestampErrorTime() throws {
        let error = try #require(throws: BybitAPIError.self) {
            try RESTEnvelopeDecoder.decode(RESTEmptyResult.self, from: try RESTFixture.bytes("http_error_10002_recv_window.json"))
        }
        #expect(error.time == 1_696_396_707_814)
    }

    @Test("ccxt comment bodies: result null, missing retExtInfo and time")
    func ccxtComments() throws {
        let lines = try RESTFixture.lines("http_errors_ccxt_comments.jsonl")
        let expected: [(Int, String, Int64?)] = [
            (110007, "ab not enough for new order", 1_668_838_414_793),
            (131001, "the available balance is not sufficient to cover the handling fee", 1_666_892_821_245),
            (5004, "Server Timeout", 1_667_577_060_106),
            (10016, "System error. Please try again later.", nil),
            (7001, "request params type error", nil),
        ]
        #expect(lines.count == expected.count)
        for (line, (code, message, time)) in zip(lines, expected) {
            let error = try #require(throws: BybitAPIError.self) {
                try RESTEnvelopeDecoder.decode(RESTOrderAck.self, from: line)
            }
            #expect(error.code == code)
            #expect(error.message == message)
            #expect(error.time == time)
            #expect(error.isServerError == (code == 10016 || code == 5004))
        }
    }

    @Test("mixed moxt responses, line by line")
    func mixedMoxt() throws {
        let lines = try RESTFixture.lines("http_responses_mixed_moxt_2023.jsonl")
        #expect(lines.count == 23)
        let codes = try lines.map { try RESTEnvelopeDecoder.header($0).retCode }
        #expect(codes == [10001, 110025, 0, 110025, 0, 110043, 110043, 10001, 10001, 10001, 110003, 110017,
                          0, 0, 10001, 110001, 0, 0, 0, 10002, 10002, 10010, 10004])
        for (index, line) in lines.enumerated() {
            let head = try RESTEnvelopeDecoder.header(line)
            if head.retCode == 0 {
                // Any success decodes as an empty result; typed shapes below.
                let ok = try RESTEnvelopeDecoder.decode(RESTEmptyResult.self, from: line)
                #expect(ok.retMsg == "OK", "line \(index + 1)")
                #expect(ok.time != nil)
            } else {
                let error = try #require(throws: BybitAPIError.self, "line \(index + 1)") {
                    try RESTEnvelopeDecoder.decode(RESTEmptyResult.self, from: line)
                }
                #expect(error.code == head.retCode)
                #expect(error.message == head.retMsg)
            }
        }
        let create = try RESTEnvelopeDecoder.decode(RESTOrderAck.self, from: lines[12]).result
        #expect(create.orderId == "b719e004-0846-4b58-8405-a307133c5146")
        #expect(create.orderLinkId == "")
        let amend = try RESTEnvelopeDecoder.decode(RESTOrderAck.self, from: lines[13]).result
        #expect(amend.orderId == "44ce1d85-3458-4ec3-af76-41a4cf80c9b3")
        let cancel = try RESTEnvelopeDecoder.decode(RESTOrderAck.self, from: lines[16]).result
        #expect(cancel.orderId == "1c64212f-8b16-4d4b-90c1-7a4cb55f240a")
        let cancelAll = try RESTEnvelopeDecoder.decode(RESTCancelAllResult.self, from: lines[17]).result
        #expect(cancelAll.list.isEmpty)
        #expect(cancelAll.success == nil)
        let realtime = try RESTEnvelopeDecoder.decode(RESTPage<RESTOrder>.self, from: lines[18]).result
        #expect(realtime.list.isEmpty)
        #expect(realtime.nextPageCursor == nil)
        #expect(realtime.category == "linear")
        let sign = try #require(throws: BybitAPIError.self) {
            try RESTEnvelopeDecoder.decode(RESTEmptyResult.self, from: lines[22])
        }
        #expect(sign.isSignatureError)
    }

    @Test("retExtInfo and retCode edge cases")
    func edgeCases() throws {
        let withExt = Array(#"{"retCode":10001,"retMsg":"bad","result":{},"retExtInfo":{"list":[{"code":1}]},"time":5}"#.utf8)
        let error = try #require(throws: BybitAPIError.self) { try RESTEnvelopeDecoder.decode(RESTEmptyResult.self, from: withExt) }
        #expect(error.extInfo?["list"] != nil)
        #expect(error.description.contains("10001"))

        let stringCode = Array(#"{"retCode":"110072","retMsg":"OrderLinkedID is duplicate"}"#.utf8)
        let dup = try #require(throws: BybitAPIError.self) { try RESTEnvelopeDecoder.decode(RESTOrderAck.self, from: stringCode) }
        #expect(dup.isDuplicateOrderLinkID)
        #expect(BybitAPIError(code: 170141, message: "Duplicate clientOrderId").isDuplicateOrderLinkID)
        #expect(BybitAPIError(code: 10006, message: "Too many visits!").isRateLimit)

        // Success with a null result is fine for empty results, an error for typed ones.
        let nullResult = Array(#"{"retCode":0,"retMsg":"OK","result":null}"#.utf8)
        #expect(try RESTEnvelopeDecoder.decode(RESTEmptyResult.self, from: nullResult).time == nil)
        #expect(throws: BybitRESTDecodingError.self) { try RESTEnvelopeDecoder.decode(RESTOrderAck.self, from: nullResult) }
        // `{}` where a shape is required is a decoding error, not a crash.
        let emptyResult = Array(#"{"retCode":0,"retMsg":"","result":{}}"#.utf8)
        #expect(throws: BybitRESTDecodingError.self) { try RESTEnvelopeDecoder.decode(RESTOrderAck.self, from: emptyResult) }
        // Not an envelope at all (an HTML error page).
        #expect(throws: BybitRESTDecodingError.self) {
            try RESTEnvelopeDecoder.decode(RESTEmptyResult.self, from: Array("<html>403</html>".utf8))
        }
        // Malformed numbers are errors, not prefixes.
        let badNumber = Array(#"{"retCode":0,"retMsg":"OK","result":{"symbol":"X","fundingRate":"12abc","fundingRateTimestamp":"1"}}"#.utf8)
        #expect(throws: BybitRESTDecodingError.self) { try RESTEnvelopeDecoder.decode(RESTFundingRate.self, from: badNumber) }
    }

    @Test("HTTP and other error descriptions")
    func otherErrors() {
        let http = BybitHTTPError(status: 403, path: "/v5/market/time", bodyPrefix: "access too frequent")
        #expect(http.isForbidden && !http.isServerError)
        #expect(BybitHTTPError(status: 503, path: "/", bodyPrefix: "").isServerError)
        #expect(BybitHTTPError(status: 429, path: "/", bodyPrefix: "").isRateLimit)
        let unknown = BybitOrderOutcomeUnknownError(path: "/v5/order/create", orderLinkId: "ol-7", reason: "timeout")
        #expect(unknown.description.contains("ol-7"))
    }
}
