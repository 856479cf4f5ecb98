import Bybit
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import TradelogCore

/// One request as the stub received it (raw query and body, exactly as sent).
struct StubRequest: Sendable {
    let method: String
    let path: String
    let rawQuery: String
    /// Header names lowercased.
    let headers: [String: String]
    let body: String
    /// Stub server time (real clock + skew) at arrival, ms.
    let receivedAtMs: Int64
    /// For signed requests: whether the signature matched the bytes received.
    let signatureValid: Bool?
    /// How many requests to this path came before this one.
    var indexOnPath = 0

    var payload: String { method == "GET" ? rawQuery : body }
}

/// What the stub answers.
struct StubReply: Sendable {
    var status: Int = 200
    var headers: [(String, String)] = []
    var body: String
    /// Sleep before answering (provokes client timeouts).
    var delayMs: Int64 = 0

    static func ok(_ result: String, time: Int64 = Timestamp.now().microsecondsSinceEpoch / 1000) -> StubReply {
        StubReply(body: #"{"retCode":0,"retMsg":"OK","result":\#(result),"retExtInfo":{},"time":\#(time)}"#)
    }

    static func error(_ code: Int, _ message: String) -> StubReply {
        let escaped = message.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return StubReply(body: #"{"retCode":\#(code),"retMsg":"\#(escaped)","result":{},"retExtInfo":{},"time":\#(Timestamp.now().microsecondsSinceEpoch / 1000)}"#)
    }
}

/// The stub's record of requests.
actor StubLog {
    private(set) var requests: [StubRequest] = []
    private var perPath: [String: Int] = [:]

    func record(_ partial: StubRequest) -> StubRequest {
        var request = partial
        request.indexOnPath = perPath[request.path, default: 0]
        perPath[request.path] = request.indexOnPath + 1
        requests.append(request)
        return request
    }

    func count(_ path: String) -> Int { requests.filter { $0.path == path }.count }
    func paths() -> [String] { requests.map(\.path) }
    func on(_ path: String) -> [StubRequest] { requests.filter { $0.path == path } }
}

/// A small Bybit v5 REST stand-in on Hummingbird: verifies signatures and timestamps like
/// Bybit (10004 / 10002), serves `/v5/market/time`, and answers everything else with a
/// per-test script.
final class RESTStubServer: Sendable {
    typealias Script = @Sendable (StubRequest) async -> StubReply?

    let credentials: BybitCredentials
    /// Stub clock = real clock + skew (ms).
    let serverSkewMs: Int64
    /// Skew of the time reported by `/v5/market/time` (to make re-sync useless).
    let reportedTimeSkewMs: Int64
    let log = StubLog()
    private let script: Script
    private let task: Task<Void, Error>
    let port: Int

    var baseURL: String { "http://127.0.0.1:\(port)" }
    var environment: BybitEnvironment { .custom(baseURL) }

    static func start(credentials: BybitCredentials = BybitCredentials(apiKey: "stubkey12345", secret: "stubsecret"),
                      serverSkewMs: Int64 = 0, reportedTimeSkewMs: Int64 = 0,
                      script: @escaping Script = { _ in nil }) async throws -> RESTStubServer {
        let (portStream, portContinuation) = AsyncStream<Int>.makeStream()
        let box = ServerBox()
        let responder = CallbackResponder<BasicRequestContext> { request, _ in
            try await box.server!.respond(to: request)
        }
        var logger = Logger(label: "rest-stub")
        logger.logLevel = .critical
        let app = Application(
            responder: responder,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                portContinuation.yield(channel.localAddress?.port ?? 0)
                portContinuation.finish()
            },
            logger: logger)
        let task = Task { try await app.runService(gracefulShutdownSignals: []) }
        var port = 0
        for await p in portStream { port = p }
        let server = RESTStubServer(credentials: credentials, serverSkewMs: serverSkewMs,
                                    reportedTimeSkewMs: reportedTimeSkewMs, script: script, task: task, port: port)
        box.server = server
        return server
    }

    private init(credentials: BybitCredentials, serverSkewMs: Int64, reportedTimeSkewMs: Int64,
                 script: @escaping Script, task: Task<Void, Error>, port: Int) {
        self.credentials = credentials
        self.serverSkewMs = serverSkewMs
        self.reportedTimeSkewMs = reportedTimeSkewMs
        self.script = script
        self.task = task
        self.port = port
    }

    func stop() async {
        task.cancel()
        _ = try? await task.value
    }

    var nowMs: Int64 { Timestamp.now().microsecondsSinceEpoch / 1000 + serverSkewMs }

    private func respond(to request: Request) async throws -> Response {
        var request = request
        let bodyBuffer = try await request.collectBody(upTo: 1 << 20)
        let body = String(buffer: bodyBuffer)
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        let path = request.uri.path
        let rawQuery = request.uri.query ?? ""
        let method = request.method.rawValue
        let arrival = nowMs

        var signatureValid: Bool?
        if let key = headers["x-bapi-api-key"] {
            let payload = method == "GET" ? rawQuery : body
            let expected = credentials.signer.restSignature(
                timestamp: Int64(headers["x-bapi-timestamp"] ?? "") ?? 0, apiKey: key,
                recvWindow: Int(headers["x-bapi-recv-window"] ?? "") ?? 0, payload: payload)
            signatureValid = key == credentials.apiKey && BybitSigner.matches(expected, headers["x-bapi-sign"] ?? "")
        }
        let recorded = await log.record(StubRequest(
            method: method, path: path, rawQuery: rawQuery, headers: headers, body: body,
            receivedAtMs: arrival, signatureValid: signatureValid))

        let reply: StubReply
        if signatureValid == false {
            let plaintext = "\(headers["x-bapi-timestamp"] ?? "")\(headers["x-bapi-api-key"] ?? "")\(headers["x-bapi-recv-window"] ?? "")\(recorded.payload)"
            reply = .error(10004, "error sign! origin_string[\(plaintext)]")
        } else if let timestampError = checkTimestamp(headers) {
            reply = timestampError
        } else if let scripted = await script(recorded) {
            reply = scripted
        } else if path == "/v5/market/time" {
            let t = nowMs + reportedTimeSkewMs
            reply = .ok(#"{"timeSecond":"\#(t / 1000)","timeNano":"\#(t * 1_000_000)"}"#, time: t)
        } else {
            reply = .ok("{}")
        }
        if reply.delayMs > 0 { try? await Task.sleep(for: .milliseconds(reply.delayMs)) }
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        for (name, value) in reply.headers { fields[HTTPField.Name(name)!] = value }
        return Response(status: .init(code: reply.status), headers: fields,
                        body: ResponseBody(byteBuffer: ByteBuffer(string: reply.body)))
    }

    /// Bybit's rule: `server − recvWindow ≤ timestamp < server + 1000`.
    private func checkTimestamp(_ headers: [String: String]) -> StubReply? {
        guard let text = headers["x-bapi-timestamp"], let ts = Int64(text) else { return nil }
        let window = Int64(headers["x-bapi-recv-window"] ?? "5000") ?? 5000
        let server = nowMs
        guard ts < server - window || ts >= server + 1000 else { return nil }
        return .error(10002, "invalid request, please check your server timestamp or recv_window param. req_timestamp[\(ts)],server_timestamp[\(server)],recv_window[\(window)]")
    }
}

/// Lets the responder closure reach the server object created after the app.
private final class ServerBox: @unchecked Sendable {
    // Written once before the first request can arrive (the port is not known before).
    var server: RESTStubServer?
}
