import Foundation
import Hummingbird
import NIOCore
import PostgresClient
import TradelogCore

/// JSON responses of the services' HTTP APIs: bodies, `{"error", "field"}` problems, and query rows.
public enum HTTPJSON {
    public static func object(_ status: HTTPResponse.Status, _ value: [String: JSONValue]) throws -> Response {
        try encodable(status, JSONValue.object(value))
    }

    public static func encodable<T: Encodable>(_ status: HTTPResponse.Status, _ value: T) throws -> Response {
        let body = try CanonicalJSON.encoder.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    public static func problem(_ status: HTTPResponse.Status, _ message: String, field: String?) throws -> Response {
        try object(status, ["error": .string(message), "field": field.map(JSONValue.string) ?? .null])
    }

    /// Each row as an object of `names` (every column selected as text; NULL as null); the
    /// columns in `json` hold JSON text and are embedded as JSON, those in `integers` are JSON
    /// numbers (decimals stay strings: their exact text).
    public static func rows(_ sql: String, _ params: [String?], names: [String], json: Set<String> = [],
                            integers: Set<String> = [], on conn: PGConnection) async throws -> [JSONValue] {
        try await conn.withConnection { c in
            let r = try c.query(sql, params)
            return (0..<r.rowCount).map { i in
                var o: [String: JSONValue] = [:]
                for (j, name) in names.enumerated() {
                    let text = r.string(i, j)
                    if json.contains(name), let text, let v = try? CanonicalJSON.decoder.decode(JSONValue.self, from: Data(text.utf8)) {
                        o[name] = v
                    } else if integers.contains(name), let n = text.flatMap({ Int64($0) }) {
                        o[name] = .number(Decimal(n))
                    } else {
                        o[name] = text.map(JSONValue.string) ?? .null
                    }
                }
                return .object(o)
            }
        }
    }
}
