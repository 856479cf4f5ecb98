/// Kline intervals of the `kline.{interval}.{symbol}` topics and `/v5/market/kline`.
public enum KlineInterval: String, CaseIterable, Sendable, Hashable {
    case m1 = "1", m3 = "3", m5 = "5", m15 = "15", m30 = "30", h1 = "60", h2 = "120", h4 = "240"
    case h6 = "360", h12 = "720", day = "D", week = "W", month = "M"

    static let minute: Int64 = 60_000
    static let dayMs: Int64 = 86_400_000

    /// Start (ms) of the candle containing `ms`. Weeks start on Monday; months are calendar months (UTC).
    public func start(containing ms: Int64) -> Int64 {
        switch self {
        case .day: return floorDiv(ms, Self.dayMs) * Self.dayMs
        case .week:
            let days = floorDiv(ms, Self.dayMs)
            // 1970-01-01 was a Thursday: Monday is three days earlier.
            return (days - floorMod(days + 3, 7)) * Self.dayMs
        case .month:
            let (y, m, _) = civil(fromDays: floorDiv(ms, Self.dayMs))
            return days(fromCivil: y, m, 1) * Self.dayMs
        default:
            let len = Int64(rawValue)! * Self.minute
            return floorDiv(ms, len) * len
        }
    }

    /// Last millisecond of the candle that starts at `start` (Bybit's `end`).
    public func end(ofStart start: Int64) -> Int64 {
        switch self {
        case .day: return start + Self.dayMs - 1
        case .week: return start + 7 * Self.dayMs - 1
        case .month:
            let (y, m, _) = civil(fromDays: floorDiv(start, Self.dayMs))
            let next = m == 12 ? days(fromCivil: y + 1, 1, 1) : days(fromCivil: y, m + 1, 1)
            return next * Self.dayMs - 1
        default: return start + Int64(rawValue)! * Self.minute - 1
        }
    }
}

func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : -((-a + b - 1) / b) }
func floorMod(_ a: Int64, _ b: Int64) -> Int64 { a - floorDiv(a, b) * b }

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
func days(fromCivil year: Int64, _ month: Int64, _ day: Int64) -> Int64 {
    let y = month <= 2 ? year - 1 : year
    let era = floorDiv(y, 400)
    let yoe = y - era * 400
    let mp = (month + 9) % 12
    let doy = (153 * mp + 2) / 5 + day - 1
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
    return era * 146_097 + doe - 719_468
}

func civil(fromDays z0: Int64) -> (Int64, Int64, Int64) {
    let z = z0 + 719_468
    let era = floorDiv(z, 146_097)
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
}

/// One candle.
public struct Candle: Sendable, Hashable {
    public var interval: KlineInterval
    public var start: Int64
    public var end: Int64
    public var open: Fixed
    public var high: Fixed
    public var low: Fixed
    public var close: Fixed
    public var volume: Fixed
    public var turnover: Fixed

    public init(interval: KlineInterval, start: Int64, price: Fixed) {
        self.interval = interval
        self.start = start
        self.end = interval.end(ofStart: start)
        open = price; high = price; low = price; close = price
        volume = .zero; turnover = .zero
    }

    mutating func add(price: Fixed, size: Fixed) {
        if price > high { high = price }
        if price < low { low = price }
        close = price
        volume += size
        turnover += price * size
    }
}

/// Candles of every interval for one market: the open ones and up to `keep` closed ones.
public struct CandleSet: Sendable {
    public private(set) var open: [KlineInterval: Candle] = [:]
    public private(set) var closed: [KlineInterval: [Candle]] = [:]
    let keep: Int

    public init(now: Int64, price: Fixed, keep: Int = 1000) {
        self.keep = keep
        for i in KlineInterval.allCases { open[i] = Candle(interval: i, start: i.start(containing: now), price: price) }
    }

    /// Closes the candles that ended before `now`; returns them (oldest interval order).
    public mutating func roll(to now: Int64, price: Fixed) -> [Candle] {
        var done: [Candle] = []
        for i in KlineInterval.allCases {
            guard var c = open[i], now > c.end else { continue }
            done.append(c)
            closed[i, default: []].append(c)
            if closed[i]!.count > keep { closed[i]!.removeFirst(closed[i]!.count - keep) }
            c = Candle(interval: i, start: i.start(containing: now), price: price)
            open[i] = c
        }
        return done
    }

    public mutating func add(price: Fixed, size: Fixed) {
        for i in KlineInterval.allCases { open[i]!.add(price: price, size: size) }
    }

    /// Newest first, the open candle included, within `[startMs, endMs]` by candle start.
    public func history(_ interval: KlineInterval, startMs: Int64?, endMs: Int64?, limit: Int) -> [Candle] {
        var all = closed[interval] ?? []
        if let o = open[interval] { all.append(o) }
        var out: [Candle] = []
        for c in all.reversed() {
            if let e = endMs, c.start > e { continue }
            if let s = startMs, c.start < s { break }
            out.append(c)
            if out.count == limit { break }
        }
        return out
    }
}
