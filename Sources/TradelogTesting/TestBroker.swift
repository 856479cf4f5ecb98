import AMQP
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Integration-test harness for RabbitMQ: each test gets a virtual host of its own on the
/// real broker (`AMQP_URL`, else the local default), made and deleted through the
/// management API (`RABBITMQ_MANAGEMENT_URL`, else http://127.0.0.1:15672/), so tests can
/// run in parallel on the real queue names.
public enum TestBroker {
    public static var baseSettings: AMQPSettings {
        (try? AMQPSettings.fromEnvironment()) ?? AMQPSettings()
    }

    public static var managementURL: URL {
        let text = ProcessInfo.processInfo.environment["RABBITMQ_MANAGEMENT_URL"] ?? "http://127.0.0.1:15672/"
        return URL(string: text.hasSuffix("/") ? text : text + "/")!
    }

    /// Creates a fresh vhost (with all permissions for the test user), runs `body`, deletes it.
    public static func with<T: Sendable>(_ body: (AMQPSettings) async throws -> T) async throws -> T {
        let vhost = "tradelog-test-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        let settings = baseSettings.with(virtualHost: vhost)
        _ = try await management("PUT", "api/vhosts/\(vhost)", body: "{}")
        _ = try await management("PUT", "api/permissions/\(vhost)/\(settings.user)",
                                 body: #"{"configure":".*","write":".*","read":".*"}"#)
        do {
            let value = try await body(settings)
            _ = try? await management("DELETE", "api/vhosts/\(vhost)")
            return value
        } catch {
            _ = try? await management("DELETE", "api/vhosts/\(vhost)")
            throw error
        }
    }

    /// A queue as the broker describes it: durability, arguments, message count.
    public struct QueueInfo: Sendable {
        public var durable: Bool
        public var arguments: [String: Int64]
        public var messages: Int
    }

    /// Asks the management API about a queue (nil when it does not exist).
    public static func queueInfo(_ queue: String, vhost: String) async throws -> QueueInfo? {
        let (status, data) = try await management("GET", "api/queues/\(escape(vhost))/\(escape(queue))")
        if status == 404 { return nil }
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        var args: [String: Int64] = [:]
        for (k, v) in object["arguments"] as? [String: Any] ?? [:] {
            if let n = v as? NSNumber { args[k] = n.int64Value }
        }
        return QueueInfo(durable: object["durable"] as? Bool ?? false, arguments: args,
                         messages: (object["messages"] as? NSNumber)?.intValue ?? 0)
    }

    static func escape(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-_."))) ?? s
    }

    static let managementSession: URLSession = {
        let c = URLSessionConfiguration.ephemeral
        c.timeoutIntervalForRequest = 15
        c.timeoutIntervalForResource = 30
        c.httpMaximumConnectionsPerHost = 1
        return URLSession(configuration: c)
    }()

    @discardableResult
    public static func management(_ method: String, _ path: String, body: String? = nil) async throws -> (Int, Data) {
        var request = URLRequest(url: managementURL.appendingPathComponent(path))
        // appendingPathComponent would escape the %2F of a vhost path: set the path as given.
        if var c = URLComponents(url: managementURL, resolvingAgainstBaseURL: false) {
            c.percentEncodedPath = (c.percentEncodedPath.hasSuffix("/") ? c.percentEncodedPath : c.percentEncodedPath + "/") + path
            if let u = c.url { request.url = u }
        }
        request.httpMethod = method
        let s = baseSettings
        let token = Data("\(s.user):\(s.password)".utf8).base64EncodedString()
        request.setValue("Basic \(token)", forHTTPHeaderField: "Authorization")
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        // No keep-alive: the management server closes idle connections, and a request written
        // to one of those (CLOSE-WAIT on our side) was seen to hang a test run for minutes.
        request.setValue("close", forHTTPHeaderField: "Connection")
        request.timeoutInterval = 15
        var attempt = 0
        let (data, response): (Data, URLResponse)
        while true {
            attempt += 1
            do {
                (data, response) = try await managementSession.data(for: request)
                break
            } catch where attempt < 3 {
                try await Task.sleep(for: .milliseconds(200))
            }
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        if status >= 400 && status != 404 {
            throw TestBrokerError(message: "\(method) \(path): HTTP \(status) \(String(decoding: data, as: UTF8.self))")
        }
        return (status, data)
    }
}

public struct TestBrokerError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
    public init(message: String) { self.message = message }
}
