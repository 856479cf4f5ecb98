/// What went wrong talking to RabbitMQ. Texts never contain the password.
public struct AMQPError: Error, CustomStringConvertible, Sendable {
    public enum Kind: Sendable, Hashable {
        /// TCP connect, login or channel open failed.
        case connect
        /// The connection or channel is gone (socket error, heartbeat timeout, server close).
        case connectionLost
        /// The broker refused an operation (e.g. a queue declared with other arguments: 406).
        case refused
        /// A publish was nacked by the broker.
        case nacked
        /// A publish could not be routed to any queue (returned).
        case unroutable
        /// Confirms did not arrive in time.
        case timeout
        /// Confirms did not arrive in time while the broker blocked the connection's publishing
        /// (`connection.blocked`: a memory or disk alarm); the message has its reason.
        case blocked
    }

    public var kind: Kind
    /// The server's reply code when it closed the channel or connection (404, 406, 320, ...).
    public var serverCode: Int
    public var message: String

    public init(_ kind: Kind, _ message: String, serverCode: Int = 0) {
        self.kind = kind
        self.message = message
        self.serverCode = serverCode
    }

    public var description: String { "AMQP \(kind): \(message)" }
}
