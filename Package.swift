// swift-tools-version:6.0
import PackageDescription

/// Every target is held to these (as hummingbird's are): `any` spelled out, and only explicitly imported modules' members.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Emilia",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "emilia", targets: ["emilia"]),
        .library(name: "EmiliaModel", targets: ["EmiliaModel"]),
        .library(name: "EmiliaStore", targets: ["EmiliaStore"]),
        .library(name: "EmiliaSQLite", targets: ["EmiliaSQLite"]),
        .library(name: "EmiliaPostgres", targets: ["EmiliaPostgres"]),
        .library(name: "EmiliaStorage", targets: ["EmiliaStorage"]),
        .library(name: "EmiliaIngest", targets: ["EmiliaIngest"]),
        .library(name: "EmiliaServer", targets: ["EmiliaServer"]),
        .library(name: "EmiliaClient", targets: ["EmiliaClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-async-algorithms.git", from: "1.1.4"),
    ],
    targets: [
        .target(name: "EmiliaModel", swiftSettings: strictSettings),
        // The system's zlib, for gzip-compressed webhook bodies.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", providers: [.apt(["zlib1g-dev"])]),
        .target(
            name: "EmiliaClient",
            dependencies: [
                "EmiliaModel",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // The storage seam: the `EventStore` protocol and what every backend shares. Links no database driver.
        .target(
            name: "EmiliaStore",
            dependencies: [
                "EmiliaModel",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "EmiliaSQLite",
            dependencies: [
                "EmiliaModel",
                "EmiliaStore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "EmiliaPostgres",
            dependencies: [
                "EmiliaModel",
                "EmiliaStore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // The webhook's policy without HTTP: token, env, limits, parse, validate, dedup key, the event to store.
        .target(
            name: "EmiliaIngest",
            dependencies: [
                "EmiliaModel",
                "EmiliaStore",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // Picks and opens a backend from `--database` / the data dir: the one place that knows both.
        .target(
            name: "EmiliaStorage",
            dependencies: [
                "EmiliaStore",
                "EmiliaSQLite",
                "EmiliaPostgres",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "EmiliaServer",
            dependencies: [
                "EmiliaModel",
                "EmiliaStore",
                "EmiliaIngest",
                "EmiliaStorage",
                "CZlib",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "emilia",
            dependencies: [
                "EmiliaModel",
                "EmiliaStore",
                "EmiliaIngest",
                "EmiliaStorage",
                "EmiliaPostgres",
                "EmiliaServer",
                "EmiliaClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "EmiliaModelTests", dependencies: ["EmiliaModel"], resources: [], swiftSettings: strictSettings),
        .testTarget(
            name: "EmiliaServerTests",
            dependencies: [
                "EmiliaServer",
                "EmiliaStore",
                "EmiliaIngest",
                "EmiliaStorage",
                "EmiliaSQLite",
                "EmiliaPostgres",
                "EmiliaModel",
                "EmiliaClient",
                "CZlib",
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: strictSettings
        ),
    ]
)
