/// Where public market data comes from.
public enum SimulatorSource: Sendable, Hashable {
    /// A deterministic synthetic market per instrument.
    case generate(seed: UInt64)
    /// The public frames of a recording (`Recording` format), replayed in order.
    case fixture(path: String, speed: ReplaySpeed)
}

/// How often generated markets step: steps (one frame per active topic) per second, as fast
/// as the sockets drain (benchmarks), or only when `BybitSimulator.advance(steps:)` is called.
public enum GenerationRate: Sendable, Hashable {
    case perSecond(Double)
    case max
    case manual

    /// `10`, `2.5`, `max` or `manual`.
    public init?(_ text: String) {
        switch text.lowercased() {
        case "max": self = .max
        case "manual": self = .manual
        default:
            guard let v = Double(text), v > 0, v.isFinite else { return nil }
            self = .perSecond(v)
        }
    }
}

/// An API key the simulator accepts, with starting balances. `description` hides the secret.
public struct SimulatorAccount: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public var apiKey: String
    public var secret: String
    /// Starting coin balances; nil gives 100 000 USDT plus about 50 000 USDT worth of each base coin.
    public var balances: [String: Fixed]?
    public var leverage: Int

    public init(apiKey: String, secret: String, balances: [String: Fixed]? = nil, leverage: Int = 10) {
        self.apiKey = apiKey
        self.secret = secret
        self.balances = balances
        self.leverage = leverage
    }

    public var description: String { "SimulatorAccount(apiKey: \(apiKey), secret: <redacted>)" }
    public var debugDescription: String { description }
}

/// Everything the simulator needs to start.
public struct SimulatorConfiguration: Sendable {
    /// Always loopback unless changed (the control endpoints are unauthenticated).
    public var host = "127.0.0.1"
    /// 0 picks a free port; read it with `BybitSimulator.boundPort()`.
    public var port = 0
    public var source: SimulatorSource = .generate(seed: 1)
    public var symbols = ["BTCUSDT", "ETHUSDT"]
    public var categories: [SimCategory] = [.spot, .linear]
    /// Overrides of the default instrument filters (matched by category and symbol).
    public var instruments: [SimInstrument] = []
    public var rate: GenerationRate = .perSecond(10)
    /// Book levels per side of generated markets.
    public var bookLevels = 200
    public var accounts: [SimulatorAccount] = []
    public var fees = FeeSchedule()
    /// Answer 10006 once a key exceeds the documented per-second limit of a path.
    public var enforceRateLimits = false
    /// Per-second limit of create, amend and cancel per key; nil is Bybit's default of 10.
    /// Accounts of higher tiers get more, and benchmarks raise it so that pacing does not
    /// hide the latency being measured.
    public var orderRateLimit: Int?
    /// Mixed into order and execution ids. With 0 a run repeats the ids of the previous run
    /// with the same seed (tests, replay); `simulate-exchange` uses its start time, so that
    /// sessions written into one log never reuse an exchange id, as Bybit never does.
    public var idEpoch: Int64 = 0
    /// Sees each REST request (path and body) once it is read, before it is answered
    /// (`tradelog bench orders` timestamps order requests with it). Must be quick.
    public var onRESTRequest: (@Sendable (_ path: String, _ body: String) -> Void)?
    /// A socket with more undelivered frames than this is closed as a slow consumer.
    public var maxPendingFrames = 200_000
    /// In `max` mode generation pauses while any socket has more than this many frames queued.
    public var highWaterFrames = 4_096

    public init(
        port: Int = 0, source: SimulatorSource = .generate(seed: 1), symbols: [String] = ["BTCUSDT", "ETHUSDT"],
        rate: GenerationRate = .perSecond(10), accounts: [SimulatorAccount] = []
    ) {
        self.port = port
        self.source = source
        self.symbols = symbols
        self.rate = rate
        self.accounts = accounts
    }

    /// The instruments to serve: overrides first, defaults for the other symbols.
    public var resolvedInstruments: [SimInstrument] {
        var out: [SimInstrument] = []
        for c in categories {
            for s in symbols {
                out.append(instruments.first { $0.category == c && $0.symbol == s } ?? SimInstrument.defaults(symbol: s, category: c))
            }
        }
        for i in instruments where !out.contains(where: { $0.key == i.key }) { out.append(i) }
        return out.sorted { $0.key < $1.key }
    }

    /// Starting balances for an account: explicit ones, or 100 000 USDT plus ~50 000 USDT of each base coin.
    func balances(for a: SimulatorAccount, instruments: [SimInstrument]) -> [String: Fixed] {
        if let b = a.balances { return b }
        var out: [String: Fixed] = ["USDT": Fixed(100_000)]
        for i in instruments where i.category == .spot && out[i.baseCoin] == nil && i.initialPrice.raw > 0 {
            out[i.baseCoin] = Fixed(50_000).divided(by: i.initialPrice).floored(to: i.qtyStep)
        }
        return out
    }

    /// The venue the simulator runs: instruments, market source (generated from `startMs`, or
    /// a fixture), accounts and fees. Public so that a replay builds exactly the same exchange
    /// in process, on its own clock. `replayFeed`, a feed already built from a recording in
    /// memory (a replay run many times parses its recording once), stands in for the fixture file.
    public func makeVenue(startMs: Int64, replayFeed: ReplayFeed? = nil) throws -> Venue {
        let c = self
        var instruments = c.resolvedInstruments
        var generated: GeneratedFeed?
        var replay: ReplayFeed?
        var seed: UInt64 = 0
        switch c.source {
        case .generate(let s):
            seed = s
            generated = GeneratedFeed(instruments: instruments, seed: s, levels: c.bookLevels, startMs: startMs)
        case .fixture(let path, _):
            let r = try replayFeed ?? ReplayFeed(path: path, configured: c.instruments)
            instruments = r.instruments
            replay = r
        }
        var accounts: [Account] = []
        var secrets: [String: String] = [:]
        for (n, a) in c.accounts.enumerated() {
            var account = Account(apiKey: a.apiKey, uid: Int64(100_000_001 + n),
                                  coins: c.balances(for: a, instruments: instruments), leverage: a.leverage)
            account.idEpoch = c.idEpoch
            accounts.append(account)
            secrets[a.apiKey] = a.secret
        }
        var venue = Venue(instruments: instruments, accounts: accounts, secrets: secrets, fees: c.fees,
                          generated: generated, replay: replay, seed: seed)
        venue.enforceRateLimits = c.enforceRateLimits
        venue.limiter.orderLimit = c.orderRateLimit
        return venue
    }
}
