import Foundation
import TradelogCore

/// Which WebSocket stream a connection is on. Spot and linear public streams differ in
/// message shapes (tickers, trade ids, ack texts); private carries order/execution/position/wallet.
public enum BybitChannel: String, Sendable, Hashable, CaseIterable, Codable {
    case spot
    case linear
    case inverse
    case `private`

    /// The REST `category` for a public channel.
    public var category: String? { self == .private ? nil : rawValue }
}

/// Where to reach Bybit: mainnet, testnet, demo, or any base URL (the local simulator).
public struct BybitEnvironment: Sendable, Hashable, CustomStringConvertible {
    /// REST base, e.g. `https://api.bybit.com` (no trailing slash).
    public var restBaseURL: String
    /// WebSocket base for public streams: `\(publicBase)/spot`, `/linear`, `/inverse`.
    public var publicStreamBase: String
    /// The private stream URL.
    public var privateStreamURL: String
    public var name: String

    public init(name: String, restBaseURL: String, publicStreamBase: String, privateStreamURL: String) {
        self.name = name
        self.restBaseURL = Self.trimmed(restBaseURL)
        self.publicStreamBase = Self.trimmed(publicStreamBase)
        self.privateStreamURL = privateStreamURL
    }

    public static let mainnet = BybitEnvironment(
        name: "mainnet", restBaseURL: "https://api.bybit.com",
        publicStreamBase: "wss://stream.bybit.com/v5/public",
        privateStreamURL: "wss://stream.bybit.com/v5/private")
    public static let testnet = BybitEnvironment(
        name: "testnet", restBaseURL: "https://api-testnet.bybit.com",
        publicStreamBase: "wss://stream-testnet.bybit.com/v5/public",
        privateStreamURL: "wss://stream-testnet.bybit.com/v5/private")
    /// Demo trading has no public WebSocket: public data comes from mainnet (reference §1.1).
    public static let demo = BybitEnvironment(
        name: "demo", restBaseURL: "https://api-demo.bybit.com",
        publicStreamBase: "wss://stream.bybit.com/v5/public",
        privateStreamURL: "wss://stream-demo.bybit.com/v5/private")

    /// Any base URL serving the v5 paths on one host (the simulator): `http://127.0.0.1:9100`
    /// gives REST there and WebSockets at `ws://127.0.0.1:9100/v5/public/{spot,linear}` and
    /// `ws://127.0.0.1:9100/v5/private`.
    public static func custom(_ baseURL: String) -> BybitEnvironment {
        let base = trimmed(baseURL)
        var ws = base
        if ws.hasPrefix("https://") { ws = "wss://" + ws.dropFirst("https://".count) }
        else if ws.hasPrefix("http://") { ws = "ws://" + ws.dropFirst("http://".count) }
        return BybitEnvironment(name: "custom", restBaseURL: base,
                                publicStreamBase: ws + "/v5/public", privateStreamURL: ws + "/v5/private")
    }

    /// `mainnet`, `testnet`, `demo`, or a URL without credentials (nil for anything else).
    public static func parse(_ text: String) -> BybitEnvironment? {
        try? parse(text, field: "BYBIT_ENV", source: "environment")
    }

    /// `mainnet`, `testnet`, `demo`, or an http(s) URL; anything else is a
    /// ``ConfigurationError`` naming `field`. A URL with credentials (`user:token@host`) is
    /// refused: the URL is logged and recorded (`StreamConnected.url`), so they would leak;
    /// the error shows it with them hidden.
    public static func parse(_ text: String, field: String, source: String) throws -> BybitEnvironment {
        switch text.lowercased() {
        case "mainnet": return .mainnet
        case "testnet": return .testnet
        case "demo": return .demo
        default:
            guard let scheme = ["http://", "https://"].first(where: { text.hasPrefix($0) }) else {
                let shown = text.contains("@") ? "a value with \"@\"" : text.debugDescription
                throw ConfigurationError(field: field, source: source,
                                         problem: "\(shown) is not mainnet, testnet, demo or an http(s) URL")
            }
            // Anywhere, not only before the first "/": a password may hold "/" too.
            if let at = text.lastIndex(of: "@") {
                let shown = scheme + "***" + text[at...]
                throw ConfigurationError(field: field, source: source,
                                         problem: "\(shown.debugDescription) contains \"@\" (credentials, user:password@?): the URL is logged and recorded, so it may not hold any; give one without \"@\"")
            }
            return .custom(text)
        }
    }

    public func streamURL(_ channel: BybitChannel) -> String {
        channel == .private ? privateStreamURL : "\(publicStreamBase)/\(channel.rawValue)"
    }

    public var description: String { name == "custom" ? restBaseURL : name }

    private static func trimmed(_ s: String) -> String {
        var s = s
        while s.hasSuffix("/") { s.removeLast() }
        return s
    }
}
