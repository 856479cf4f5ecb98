import AsyncHTTPClient
import Bybit
import NIOCore
import NIOPosix

/// Maps AsyncHTTPClient/NIO errors to `BybitTransportError`, deciding whether the request
/// may have reached Bybit. Only failures to establish a connection count as "not sent";
/// anything else (deadline, reset, read timeout, cancellation) may have been sent.
enum RESTTransportClassifier {
    static func classify(_ error: any Error, path: String) -> BybitTransportError {
        var notSent = false
        var timedOut = false
        if let http = error as? HTTPClientError {
            switch http {
            case .connectTimeout, .tlsHandshakeTimeout, .socksHandshakeTimeout, .httpProxyHandshakeTimeout,
                 .getConnectionFromPoolTimeout, .invalidURL, .emptyHost, .emptyScheme, .alreadyShutdown:
                notSent = true
                timedOut = http == .connectTimeout || http == .getConnectionFromPoolTimeout
            case .deadlineExceeded, .readTimeout, .writeTimeout:
                timedOut = true
            default:
                break
            }
        } else if error is NIOConnectionError {
            notSent = true
        } else if let channel = error as? ChannelError, case .connectTimeout = channel {
            notSent = true
            timedOut = true
        }
        return BybitTransportError(path: path, message: "\(error)", mayHaveBeenSent: !notSent, timedOut: timedOut)
    }
}
