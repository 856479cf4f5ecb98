// swift-tools-version:6.1
import PackageDescription

// Modules follow the component table of DESIGN.md: the C libraries as system-library
// targets, then one Swift module per concern. Services (gateway, relay, order manager,
// position manager, ...) arrive as their own modules with their issues.
let package = Package(
    name: "tradelog",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "tradelog", targets: ["tradelog"]),
        .library(name: "EventLog", targets: ["EventLog"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // HTTP and WebSocket: the REST client, the WS client, the gateway API and the simulator.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.8.1"),
    ],
    targets: [
        // C libraries from Debian's -dev packages.
        .systemLibrary(
            name: "CLibPQ", pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"]), .brew(["libpq"])]),
        .systemLibrary(
            name: "CRabbitMQ", pkgConfig: "librabbitmq",
            providers: [.apt(["librabbitmq-dev"]), .brew(["rabbitmq-c"])]),
        // rabbitmq-c's variadic login, field tables and confirm frames, wrapped in plain C.
        .target(
            name: "CAMQPShim",
            dependencies: ["CRabbitMQ"]),
        .systemLibrary(
            name: "CLZ4", pkgConfig: "liblz4",
            providers: [.apt(["liblz4-dev"]), .brew(["lz4"])]),
        .systemLibrary(
            name: "CCrypto", pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"]), .brew(["openssl"])]),

        // Event envelope, typed-event registry, deterministic ids, digests.
        .target(
            name: "TradelogCore",
            dependencies: ["CCrypto"]),
        // libpq client: one thread per connection, COPY, LISTEN/NOTIFY, typed errors.
        .target(
            name: "PostgresClient",
            dependencies: [
                "CLibPQ", "TradelogCore",
                .product(name: "Logging", package: "swift-log"),
            ]),
        // The event log: append, read, subscriptions, checkpoints, migrations, retention.
        .target(
            name: "EventLog",
            dependencies: [
                "TradelogCore", "PostgresClient",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        // RabbitMQ on rabbitmq-c: one thread per connection, publisher confirms, consumers.
        .target(
            name: "AMQP",
            dependencies: [
                "CAMQPShim", "TradelogCore",
                .product(name: "Logging", package: "swift-log"),
            ]),
        // Inbound trading signals (seed 002) without I/O: parsing, validation, their events.
        .target(
            name: "Signals",
            dependencies: ["TradelogCore", "Bybit"]),
        // The relay (log → documented queues) and the signal intake (queue → log).
        .target(
            name: "Relay",
            dependencies: [
                "AMQP", "Signals", "Bybit", "EventLog", "Recording", "TradelogCore", "PostgresClient",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        // The order manager without I/O: validation, risk, sizing, open-order policy, order state machine.
        .target(
            name: "OrderManagerCore",
            dependencies: ["Bybit", "Signals", "TradelogCore"]),
        // The order manager: signals → decisions → Bybit orders, sync, projections, REST API, audit.
        .target(
            name: "OrderManager",
            dependencies: [
                "OrderManagerCore", "Relay", "AMQP", "Signals", "Bybit", "BybitClient", "EventLog", "TradelogCore",
                "PostgresClient", "Gateway", "Recording",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        // The position manager without I/O: positions, marks, portfolio, discrepancies, snapshots as a fold.
        .target(
            name: "PositionManagerCore",
            dependencies: ["OrderManagerCore", "Bybit", "TradelogCore"]),
        // The position manager: the fold run against the log, sync with Bybit, projections, REST API.
        .target(
            name: "PositionManager",
            dependencies: [
                "PositionManagerCore", "OrderManager", "OrderManagerCore", "Bybit", "BybitClient", "EventLog", "TradelogCore",
                "PostgresClient", "Gateway", "Signals",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        // Bybit v5 without I/O: fast JSON, signing, frame decoders, book keeping, REST models.
        .target(
            name: "Bybit",
            dependencies: ["TradelogCore", "CCrypto"]),
        // Bybit v5 I/O: the REST client (AsyncHTTPClient) and the WebSocket client.
        .target(
            name: "BybitClient",
            dependencies: [
                "Bybit", "TradelogCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        // The recorder's file format: LZ4-compressed JSON lines (also the replay fixtures).
        .target(
            name: "Recording",
            dependencies: ["CLZ4", "TradelogCore"]),
        // A local Bybit: v5 REST and WebSocket, matching against a played or generated book.
        .target(
            name: "BybitSimulator",
            dependencies: [
                "Bybit", "TradelogCore", "Recording",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        // The gateway: Bybit WebSocket frames into the log, subscriptions, recorder.
        .target(
            name: "Gateway",
            dependencies: [
                "Bybit", "BybitClient", "EventLog", "TradelogCore", "PostgresClient", "Recording",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        // Projection versions, blue/green rebuilds, in-memory folds and row digests.
        .target(
            name: "Projections",
            dependencies: [
                "EventLog", "PostgresClient", "TradelogCore", "OrderManager", "OrderManagerCore",
                "PositionManager", "PositionManagerCore",
                .product(name: "Logging", package: "swift-log"),
            ]),
        // Deterministic replay of recorded sessions on a virtual clock.
        .target(
            name: "Replay",
            dependencies: [
                "Bybit", "BybitSimulator", "Recording", "Signals", "OrderManager", "OrderManagerCore",
                "PositionManager", "PositionManagerCore", "Projections", "EventLog", "PostgresClient",
                "Gateway", "TradelogCore",
                .product(name: "Logging", package: "swift-log"),
            ]),
        // The one binary.
        .executableTarget(
            name: "tradelog",
            dependencies: [
                "EventLog", "TradelogCore", "PostgresClient",
                "Bybit", "BybitClient", "BybitSimulator", "Gateway", "Recording",
                "AMQP", "Relay", "Signals", "OrderManager", "OrderManagerCore",
                "PositionManager", "PositionManagerCore", "Projections", "Replay",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),

        // Test harness shared by the integration tests (real PostgreSQL).
        .target(
            name: "TradelogTesting",
            dependencies: ["EventLog", "PostgresClient", "AMQP", .product(name: "Logging", package: "swift-log")]),

        .testTarget(
            name: "TradelogCoreTests",
            dependencies: ["TradelogCore", "CLibPQ", "CRabbitMQ", "CLZ4", "CCrypto"]),
        .testTarget(
            name: "PostgresClientTests",
            dependencies: ["PostgresClient", "TradelogTesting"]),
        .testTarget(
            name: "BybitTests",
            dependencies: ["Bybit", "TradelogCore"],
            exclude: ["Fixtures"]),
        .testTarget(
            name: "BybitSimulatorTests",
            dependencies: [
                "BybitSimulator", "BybitClient", "Bybit", "TradelogCore",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway", "BybitSimulator", "BybitClient", "Bybit", "Recording", "EventLog", "Replay",
                "TradelogCore", "PostgresClient", "TradelogTesting", "tradelog",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),
        .testTarget(
            name: "SignalsTests",
            dependencies: ["Signals", "TradelogCore", "Bybit"]),
        .testTarget(
            name: "RelayTests",
            dependencies: [
                "Relay", "AMQP", "Signals", "OrderManagerCore", "PositionManagerCore", "Bybit", "EventLog", "TradelogCore", "PostgresClient", "TradelogTesting", "tradelog",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: ["validate_queues.py"]),
        .testTarget(
            name: "OrderManagerCoreTests",
            dependencies: ["OrderManagerCore", "Signals", "Bybit", "TradelogCore"],
            exclude: ["Fixtures"]),
        .testTarget(
            name: "PositionManagerCoreTests",
            dependencies: ["PositionManagerCore", "OrderManagerCore", "Bybit", "TradelogCore"],
            exclude: ["Fixtures"]),
        .testTarget(
            name: "OrderManagerTests",
            dependencies: [
                "OrderManager", "OrderManagerCore", "PositionManager", "PositionManagerCore", "BybitSimulator", "BybitClient",
                "Gateway", "Relay", "AMQP", "Signals", "Bybit", "EventLog", "TradelogCore", "PostgresClient", "TradelogTesting",
                "Recording", "Replay", "tradelog",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
        .testTarget(
            name: "EventLogTests",
            dependencies: [
                "EventLog", "TradelogCore", "PostgresClient", "TradelogTesting", "tradelog",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(
            name: "ProjectionsTests",
            dependencies: [
                "Projections", "EventLog", "OrderManager", "OrderManagerCore", "PositionManager", "PositionManagerCore",
                "TradelogCore", "PostgresClient", "TradelogTesting", "tradelog",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(
            name: "ReplayTests",
            dependencies: [
                "Replay", "Projections", "Recording", "BybitSimulator", "BybitClient", "Gateway", "Relay", "AMQP", "Signals",
                "OrderManager", "OrderManagerCore", "PositionManager", "PositionManagerCore", "Bybit", "EventLog",
                "TradelogCore", "PostgresClient", "TradelogTesting", "tradelog",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
