import Bybit
import Foundation
import Hummingbird
import Logging
import NIOCore
import TradelogCore

/// One subscription as the API shows it.
public struct SubscriptionView: Codable, Sendable, Equatable, ResponseEncodable {
    public var id: String
    public var channel: String
    public var topic: String
    public var channelType: String?
    public var symbol: String?
    public var requestingService: String
    public var via: String
    /// `active` (acknowledged by Bybit), `pending` (sent or waiting for a connection),
    /// `failed` (refused by Bybit: see `message`) or `unavailable` (private topics without
    /// API credentials).
    public var status: String
    public var message: String?
    public var createdAt: String?

    enum CodingKeys: String, CodingKey {
        case id, channel, topic, symbol, via, status, message
        case channelType = "channel_type", requestingService = "requesting_service", createdAt = "created_at"
    }
}

struct SubscriptionList: Codable, Sendable, ResponseEncodable {
    var subscriptions: [SubscriptionView]
}

struct APIErrorBody: Codable, Sendable, ResponseEncodable {
    var error: String
    var field: String?
}

/// What the HTTP API needs from the gateway.
public protocol SubscriptionManaging: Sendable {
    func list() async -> [SubscriptionView]
    func add(_ request: SubscriptionRequest) async throws -> (view: SubscriptionView, created: Bool)
    func remove(id: String, requestedBy: String) async throws -> SubscriptionView?
    func health() async -> [String: String]
}

/// Checks `X-API-Key` against the configured key (constant-time); no key configured means
/// every request is refused, so an unconfigured gateway is never open.
public struct APIKeyMiddleware<Context: RequestContext>: RouterMiddleware {
    let apiKey: String?

    public init(apiKey: String?) { self.apiKey = apiKey }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let apiKey, !apiKey.isEmpty else {
            throw HTTPError(.unauthorized, message: "the API is disabled: set TRADELOG_API_KEY")
        }
        let given = request.headers.first { $0.name.canonicalName == "x-api-key" }?.value
        guard let given, BybitSigner.matches(given, apiKey) else {
            throw HTTPError(.unauthorized, message: "missing or wrong X-API-Key")
        }
        return try await next(request, context)
    }
}

/// `POST/GET/DELETE /api/v1/subscriptions` and `GET /health`.
public enum GatewayAPI {
    public static func router(manager: any SubscriptionManaging, apiKey: String?) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/health") { _, _ -> Response in
            let facts = await manager.health()
            let body = try JSONEncoder.sorted.encode(facts)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
        }
        let api = router.group("api/v1").add(middleware: APIKeyMiddleware(apiKey: apiKey))
        api.get("subscriptions") { _, _ -> SubscriptionList in
            SubscriptionList(subscriptions: await manager.list())
        }
        api.get("subscriptions/:id") { _, context -> SubscriptionView in
            let id = try context.parameters.require("id")
            guard let view = await manager.list().first(where: { $0.id == id }) else {
                throw HTTPError(.notFound, message: "no subscription \(id)")
            }
            return view
        }
        api.post("subscriptions") { request, context -> Response in
            let body: SubscriptionRequest
            do {
                let bytes = try await request.body.collect(upTo: 64 * 1024)
                body = try JSONDecoder().decode(SubscriptionRequest.self, from: Data(bytes.readableBytesView))
            } catch let error as DecodingError {
                let (field, problem) = Self.describe(error)
                return try json(.badRequest, APIErrorBody(error: "body is not a subscription request: \(problem)", field: field))
            } catch {
                return try json(.badRequest, APIErrorBody(error: "body is not a subscription request: \(error)", field: nil))
            }
            do {
                let (view, created) = try await manager.add(body)
                return try json(created ? .created : .ok, view)
            } catch let e as SubscriptionRequestError {
                return try json(.badRequest, APIErrorBody(error: e.description, field: e.field))
            }
        }
        api.delete("subscriptions/:id") { request, context -> Response in
            let id = try context.parameters.require("id")
            let by = request.uri.queryParameters.get("requesting_service") ?? "api"
            guard let view = try await manager.remove(id: id, requestedBy: by) else {
                return try json(.notFound, APIErrorBody(error: "no subscription \(id)", field: "id"))
            }
            return try json(.ok, view)
        }
        return router
    }

    /// The field a body failed on (its JSON name, dotted when nested; nil for the body as a
    /// whole, e.g. not JSON) and the problem in words.
    static func describe(_ error: DecodingError) -> (field: String?, problem: String) {
        func name(_ path: [any CodingKey]) -> String? {
            path.isEmpty ? nil : path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .typeMismatch(let type, let c):
            return (name(c.codingPath), "\(name(c.codingPath) ?? "the body") must be \(type == Int.self ? "an integer" : type == String.self ? "a string" : "\(type)")")
        case .valueNotFound(_, let c):
            return (name(c.codingPath), "\(name(c.codingPath) ?? "the body") must not be null")
        case .keyNotFound(let key, let c):
            let field = name(c.codingPath + [key])
            return (field, "\(field ?? key.stringValue) is required")
        case .dataCorrupted(let c):
            return (name(c.codingPath), name(c.codingPath).map { "\($0) is not valid" } ?? "not a JSON object")
        @unknown default:
            return (nil, "\(error)")
        }
    }

    static func json<T: Encodable>(_ status: HTTPResponse.Status, _ value: T) throws -> Response {
        let body = try JSONEncoder.sorted.encode(value)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

extension JSONEncoder {
    static var sorted: JSONEncoder {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return e
    }
}
