import Bybit
import Foundation
import Hummingbird
import HummingbirdWebSocket
import NIOCore

/// WebSocket endpoints: one reader and one writer per socket, both through the engine.
extension BybitSimulator {
    func webSocketRouter(_ engine: SimulatorEngine) -> Router<SimulatorSocketContext> {
        let router = Router(context: SimulatorSocketContext.self)
        for (path, channel) in [("/v5/public/spot", BybitChannel.spot), ("/v5/public/linear", .linear), ("/v5/private", .private)] {
            router.ws(RouterPath(path)) { inbound, outbound, context in
                try await Self.serve(channel: channel, inbound: inbound, outbound: outbound,
                                     nio: context.requestContext.channel, engine: engine)
            }
        }
        return router
    }

    static func serve(
        channel: BybitChannel, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter,
        nio: any Channel, engine: SimulatorEngine
    ) async throws {
        let (id, outbox) = await engine.connect(channel: channel) { nio.close(promise: nil) }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while let batch = await outbox.next() {
                    do {
                        for frame in batch {
                            try await outbound.write(.custom(.init(fin: true, opcode: .text, data: frame)))
                        }
                    } catch {
                        outbox.close()
                        break
                    }
                    outbox.sent(batch.count)
                }
            }
            do {
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    if case .text(let text) = message { await engine.receive(id, text: text, now: nowMs()) }
                }
            } catch {}
            outbox.close()
            await group.waitForAll()
        }
        await engine.disconnect(id)
    }
}

/// The request context of WebSocket upgrades: keeps the NIO channel so a socket can be dropped.
public struct SimulatorSocketContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<SimulatorSocketContext>
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        channel = source.channel
    }
}
