import Bybit
import Foundation
import Hummingbird
import NIOCore

/// REST requests and the `/sim/*` control endpoints.
extension BybitSimulator {
    func respond(_ request: Request, engine: SimulatorEngine) async throws -> Response {
        let path = request.uri.path
        let body = try await request.body.collect(upTo: 1 << 20)
        if path.hasPrefix("/sim/") { return await control(path, query: RestRequest.parseQuery(request.uri.query ?? ""), engine: engine) }
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        let r = RestRequest(method: request.method.rawValue, path: path, rawQuery: request.uri.query ?? "",
                            body: String(buffer: body), headers: headers)
        configuration.onRESTRequest?(r.path, r.body)
        switch await engine.rest(r, now: Self.nowMs()) {
        case .reply(let reply):
            var fields = HTTPFields()
            fields[.contentType] = "application/json"
            for (k, v) in reply.headers { if let name = HTTPFields.Element.Name(k) { fields[name] = v } }
            return Response(status: .init(code: reply.status), headers: fields,
                             body: .init(byteBuffer: ByteBuffer(bytes: reply.body)))
        case .hang:
            await held.hold()
            return Response(status: .gatewayTimeout)
        case .holdAnswer:
            await held.hold()
            return Response(status: .gatewayTimeout)
        }
    }

    func control(_ path: String, query q: [String: String], engine: SimulatorEngine) async -> Response {
        func ok(_ extra: String = "") -> Response {
            var fields = HTTPFields()
            fields[.contentType] = "application/json"
            return Response(status: .ok, headers: fields, body: .init(byteBuffer: ByteBuffer(string: "{\"ok\":true\(extra)}")))
        }
        func bad(_ text: String) -> Response {
            Response(status: .badRequest, body: .init(byteBuffer: ByteBuffer(string: "{\"ok\":false,\"error\":\"\(text)\"}")))
        }
        let channel = q["channel"].flatMap { BybitChannel(rawValue: $0) }
        if q["channel"] != nil, channel == nil { return bad("unknown channel") }
        switch path {
        case "/sim/drop-sockets":
            let n = await engine.dropSockets(channel)
            return ok(",\"dropped\":\(n)")
        case "/sim/skip-update-id":
            guard let topic = q["topic"], !topic.isEmpty else { return bad("topic is required") }
            await engine.skipUpdateId(topic: topic, channel: channel)
            return ok()
        case "/sim/fail-next":
            guard let p = q["path"], !p.isEmpty else { return bad("path is required") }
            await engine.failNext(path: p, retCode: q["retCode"].flatMap { Int($0) } ?? 10006)
            return ok()
        case "/sim/hold-next":
            guard let p = q["path"] else { return bad("path required") }
            await engine.holdNextAnswer(path: p)
            return ok()
        case "/sim/http-status-next":
            guard let p = q["path"], let st = q["status"].flatMap({ Int($0) }) else { return bad("path and status required") }
            await engine.httpStatusNext(path: p, status: st)
            return ok()
        case "/sim/timeout-next":
            guard let p = q["path"], !p.isEmpty else { return bad("path is required") }
            await engine.timeoutNext(path: p)
            return ok()
        case "/sim/pause":
            await engine.setPaused(true)
            return ok()
        case "/sim/resume":
            await engine.setPaused(false)
            return ok()
        case "/sim/step":
            let n = q["count"].flatMap { Int($0) } ?? 1
            var frames = 0
            for _ in 0..<max(0, n) { frames += await engine.step(now: Self.nowMs()) }
            return ok(",\"frames\":\(frames)")
        case "/sim/status":
            let bytes = await engine.status()
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        default:
            return bad("unknown control path")
        }
    }
}
