import Foundation
import TradelogCore

/// A decoded success: the result plus the envelope fields around it.
public struct RESTResponse<Result: Sendable>: Sendable {
    public let result: Result
    public let retMsg: String
    /// Envelope `time` (server ms); some responses omit it.
    public let time: Int64?
}

/// A `result` that carries nothing useful (`{}`, `null`, or anything): set-mode calls etc.
public struct RESTEmptyResult: Decodable, Sendable, Hashable {
    public init() {}
    public init(from decoder: Decoder) throws {}
}

/// Decodes `{retCode, retMsg, result, retExtInfo, time}` bodies (reference §2.3).
public enum RESTEnvelopeDecoder {
    /// The envelope fields without `result`.
    public struct Header: Decodable, Sendable, Hashable {
        public let retCode: Int
        public let retMsg: String
        public let time: Int64?
        public let retExtInfo: JSONValue?

        enum CodingKeys: String, CodingKey { case retCode, retMsg, time, retExtInfo }

        public init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            // ccxt-style captures carry numbers as strings; accept both.
            if let code = try? c.decode(Int.self, forKey: .retCode) {
                retCode = code
            } else if let text = try? c.decode(String.self, forKey: .retCode), let code = Int(text) {
                retCode = code
            } else {
                throw DecodingError.dataCorruptedError(forKey: .retCode, in: c, debugDescription: "missing or invalid retCode")
            }
            retMsg = (try? c.decodeIfPresent(String.self, forKey: .retMsg)) ?? ""
            time = try c.decodeIfPresent(RESTOptionalInt64.self, forKey: .time)?.wrappedValue
            let ext = try c.decodeIfPresent(JSONValue.self, forKey: .retExtInfo)
            retExtInfo = (ext == .object([:]) || ext == .null) ? nil : ext
        }

        /// The typed error for a non-zero code.
        public func apiError(path: String?) -> BybitAPIError {
            BybitAPIError(code: retCode, message: retMsg, time: time, extInfo: retExtInfo, path: path)
        }
    }

    private struct Body<Result: Decodable>: Decodable {
        let result: Result?
    }

    /// Decodes only the envelope fields.
    public static func header(_ bytes: [UInt8], path: String? = nil) throws -> Header {
        do {
            return try JSONDecoder().decode(Header.self, from: Data(bytes))
        } catch {
            throw BybitRESTDecodingError(path: path, message: "\(error)", bodyPrefix: prefix(bytes))
        }
    }

    /// Decodes a whole body: `BybitAPIError` when `retCode ≠ 0`, `BybitRESTDecodingError`
    /// when the shape is wrong. A `null` or missing result is accepted only for
    /// `RESTEmptyResult`.
    public static func decode<Result: Decodable & Sendable>(_ type: Result.Type, from bytes: [UInt8], path: String? = nil) throws -> RESTResponse<Result> {
        let head = try header(bytes, path: path)
        guard head.retCode == 0 else { throw head.apiError(path: path) }
        let body: Body<Result>
        do {
            body = try JSONDecoder().decode(Body<Result>.self, from: Data(bytes))
        } catch {
            throw BybitRESTDecodingError(path: path, message: "\(error)", bodyPrefix: prefix(bytes))
        }
        if let result = body.result {
            return RESTResponse(result: result, retMsg: head.retMsg, time: head.time)
        }
        if let empty = RESTEmptyResult() as? Result {
            return RESTResponse(result: empty, retMsg: head.retMsg, time: head.time)
        }
        throw BybitRESTDecodingError(path: path, message: "result is null or missing", bodyPrefix: prefix(bytes))
    }

    /// The first 300 bytes as text, for error messages.
    public static func prefix(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.prefix(300), as: UTF8.self)
    }
}
