import Foundation
import Testing
import TradelogCore
@testable import Bybit

@Suite("JSON parser")
struct JSONParserTests {
    @Test func parsesNestedValuesKeepingNumberText() throws {
        let doc = try JSONDocument(parsing: #" { "a" : [1, -2.50, 3e2, true, false, null], "b": {"c": "x\"y"}, "d": "" } "#)
        let root = doc.root
        #expect(root.kind == .object)
        #expect(root.count == 3)
        let a = try #require(root["a"])
        #expect(a.count == 6)
        #expect(a.elements.map(\.kind) == [.number, .number, .number, .true, .false, .null])
        #expect(a[1]?.numberText == "-2.50")
        #expect(a[2]?.numberText == "3e2")
        #expect(a[0]?.int64 == 1)
        #expect(a[1]?.decimal == dec("-2.5"))
        #expect(a[2]?.decimal == 300)
        #expect(root["b"]?["c"]?.string == "x\"y")
        #expect(root["d"]?.string == "")
        #expect(root["missing"] == nil)
        #expect(root.members.map(\.key) == ["a", "b", "d"])
    }

    @Test func findsMembersByKeyEscapedOrNot() throws {
        let doc = try JSONDocument(parsing: #"{"ab": 1, "a\u0062c": 2, "é": 3, "a": 4, "ab": 5}"#)
        #expect(doc.root["ab"]?.int64 == 1)  // the first of a repeated key
        #expect(doc.root["abc"]?.int64 == 2)
        #expect(doc.root["é"]?.int64 == 3)
        #expect(doc.root["a"]?.int64 == 4)
        #expect(doc.root["abcd"] == nil && doc.root[""] == nil)
    }

    @Test func unescapesStringsIncludingSurrogatePairs() throws {
        let doc = try JSONDocument(parsing: #"["\u00e9\n\t\/\\ \ud83d\ude00 \ud800x", "é€😀"]"#)
        #expect(doc.root[0]?.string == "é\n\t/\\ 😀 \u{FFFD}x")
        #expect(doc.root[1]?.string == "é€😀")
    }

    @Test(arguments: [
        "", " ", "{", "}", "[1,]", "[1 2]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "01", "-", "1.", ".5", "1e",
        "+1", "tru", "nul", "\"abc", "\"a\u{01}b\"", "\"\\x\"", "\"\\u12g4\"", "[1]x", "NaN", "{\"a\":1}}",
    ])
    func rejectsInvalidJSON(_ text: String) {
        #expect(throws: JSONParseError.self) { try JSONDocument(parsing: text) }
    }

    @Test func refusesDeepNestingWithoutCrashing() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONParseError.self) { try JSONDocument(parsing: deep) }
        let ok = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect((try? JSONDocument(parsing: ok)) != nil)
    }

    @Test func stringScanFindsSpecialBytesAtEveryOffset() throws {
        // The parser scans eight bytes at a time; put the quote, an escape and a UTF-8
        // sequence at every position of the word.
        for k in 0..<20 {
            let pad = String(repeating: "a", count: k)
            let doc = try JSONDocument(parsing: "[\"\(pad)\", \"\(pad)\\\"z\", \"\(pad)é\(pad)\"]")
            #expect(doc.root[0]?.string == pad)
            #expect(doc.root[1]?.string == pad + "\"z")
            #expect(doc.root[2]?.string == pad + "é" + pad)
            #expect(throws: JSONParseError.self) { try JSONDocument(parsing: "[\"\(pad)\u{1f}\"]") }
        }
    }

    @Test func bookLevelFastPathAgreesWithTheGeneralPath() throws {
        // `["p","s"]` takes a shortcut; spaced or escaped forms take the general path.
        let doc = try JSONDocument(parsing: #"[["1.5","2"],[ "1.5" , "2" ],["1\u002e5","2"],["1.5","2","x"],["",""]]"#)
        for i in 0..<3 {
            let level = try #require(doc.root[i])
            #expect(level.count == 2)
            #expect(level[0]?.string == "1.5")
            #expect(level[1]?.string == "2")
        }
        #expect(doc.root[3]?.count == 3)
        #expect(doc.root[4]?[1]?.string == "")
        #expect(throws: JSONParseError.self) { try JSONDocument(parsing: #"[["1","2"]"#) }
        #expect(throws: JSONParseError.self) { try JSONDocument(parsing: #"[["1","2"#) }
    }

    @Test func int64AcceptsDigitStringsAndRejectsOverflow() throws {
        let doc = try JSONDocument(parsing: #"["1705740966794", 9223372036854775807, 9223372036854775808, "12a", -5, "1.5"]"#)
        #expect(doc.root[0]?.int64 == 1_705_740_966_794)
        #expect(doc.root[1]?.int64 == Int64.max)
        #expect(doc.root[2]?.int64 == nil)
        #expect(doc.root[3]?.int64 == nil)
        #expect(doc.root[4]?.int64 == -5)
        #expect(doc.root[5]?.int64 == nil)
    }
}

@Suite("JSON writer")
struct JSONWriterTests {
    @Test func escapesExactlyLikeCanonicalJSON() throws {
        let samples = ["plain", "q\"uote", "back\\slash", "slash/", "ctl\u{01}\u{1f}\u{7f}", "\n\r\t\u{08}\u{0c}",
                       "é€😀", "\u{2028}", ""]
        for s in samples {
            var w = JSONWriter()
            w.beginObject()
            w.key("k")
            w.string(s)
            w.endObject()
            let ours = w.take()
            let theirs = Array(try CanonicalJSON.encoder.encode(["k": s]))
            #expect(ours == theirs, "\(String(decoding: ours, as: UTF8.self)) vs \(String(decoding: theirs, as: UTF8.self))")
        }
    }

    @Test func replacesInvalidUTF8() {
        var w = JSONWriter()
        [UInt8(ascii: "a"), 0xff, 0xc3, 0xa9, 0xe2, 0x82, UInt8(ascii: "b"), 0xed, 0xa0, 0x80].withUnsafeBytes {
            w.string(utf8: $0)
        }
        #expect(String(decoding: w.take(), as: UTF8.self) == "\"a\u{FFFD}é\u{FFFD}\u{FFFD}b\u{FFFD}\u{FFFD}\u{FFFD}\"")
    }

    @Test func writesStructureWithCommasAndKeysInGivenOrder() {
        var w = JSONWriter(capacity: 1)  // forces growth
        w.beginObject()
        w.key("a"); w.beginArray(); w.int(1); w.int(-20); w.int(Int64.min); w.bool(true); w.null(); w.endArray()
        w.key("b"); w.beginObject(); w.endObject()
        w.key("c"); w.decimal("007.50")
        w.key("d"); #expect(w.decimal("1.2.3") == false)
        w.int(0)
        w.key("e"); Array("1e3".utf8).withUnsafeBytes { _ = w.number($0) }
        w.key("f"); w.decimal(PriceKey("0.0500")!)
        w.key(string: "g\"")
        w.string("x")
        w.endObject()
        #expect(String(decoding: w.take(), as: UTF8.self)
            == #"{"a":[1,-20,-9223372036854775808,true,null],"b":{},"c":"7.5","d":0,"e":1000,"f":"0.05","g\"":"x"}"#)
        #expect(w.count == 0)
    }
}
