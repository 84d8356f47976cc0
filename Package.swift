// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "fu",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "FakeUserKit", targets: ["FakeUserKit"]),
        .executable(name: "fu-synth", targets: ["fu-synth"]),
        .executable(name: "fu-featurize", targets: ["fu-featurize"]),
        .executable(name: "fu-split", targets: ["fu-split"]),
        .executable(name: "fu-fit", targets: ["fu-fit"]),
        .executable(name: "fu-cv", targets: ["fu-cv"]),
        .executable(name: "fu-score", targets: ["fu-score"]),
        .executable(name: "fu-serve", targets: ["fu-serve"]),
        .executable(name: "fu-report", targets: ["fu-report"]),
        .executable(name: "fu-partition", targets: ["fu-partition"]),
        .executable(name: "fu-merge", targets: ["fu-merge"]),
        .executable(name: "fu-watch", targets: ["fu-watch"]),
        .executable(name: "fu-drift", targets: ["fu-drift"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        // fu-serve only. Hummingbird's default traits pull in swift-configuration, unused here.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // libzstd from the system (Debian: libzstd-dev).
        .systemLibrary(
            name: "CZstd",
            pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"]), .brew(["zstd"])]
        ),
        // libcrypto from the system (Debian: libssl-dev), for fu-serve's SHA-256 of the model.
        .systemLibrary(
            name: "CCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"]), .brew(["openssl"])]
        ),
        // Inline C for instructions Swift cannot ask for: a prefetch hint (random cache
        // misses are most of fu-featurize's counting) and 16-byte compares (CSV scanning).
        .target(name: "CIntrinsics"),
        .target(
            name: "FakeUserKit",
            dependencies: [
                "CZstd",
                "CIntrinsics",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The parsers and counters are hot loops over class-owned buffers; dynamic
            // exclusivity checks cost about a tenth of featurize time there.
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
        ),
        // The HTTP side of fu-serve. Scoring itself lives in FakeUserKit/Serving; this target
        // adapts it to Hummingbird, so the six filters do not link swift-nio and its peers.
        .target(
            name: "FakeUserServer",
            dependencies: [
                "FakeUserKit",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                "FakeUserMetrics",
                "CCrypto",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The stream's Prometheus series, shared by fu-serve's /metrics and fu-watch's file.
        .target(name: "FakeUserMetrics", dependencies: ["FakeUserKit", .product(name: "Prometheus", package: "swift-prometheus")]),
        .executableTarget(name: "fu-synth", dependencies: ["FakeUserKit"]),
        .executableTarget(name: "fu-featurize", dependencies: ["FakeUserKit"]),
        .executableTarget(name: "fu-split", dependencies: ["FakeUserKit"]),
        .executableTarget(name: "fu-fit", dependencies: ["FakeUserKit"]),
        .executableTarget(name: "fu-cv", dependencies: ["FakeUserKit"]),
        .executableTarget(name: "fu-score", dependencies: ["FakeUserKit"]),
        .executableTarget(name: "fu-serve", dependencies: ["FakeUserServer"]),
        .executableTarget(name: "fu-report", dependencies: ["FakeUserKit"]),
        .executableTarget(name: "fu-partition", dependencies: ["FakeUserKit"]),
        .executableTarget(name: "fu-merge", dependencies: ["FakeUserKit"]),
        .executableTarget(name: "fu-watch", dependencies: ["FakeUserKit", "FakeUserMetrics"]),
        .executableTarget(name: "fu-drift", dependencies: ["FakeUserKit"]),
        // The mutation fuzzer both test targets use (Tests/FuzzSupport).
        .target(name: "FuzzSupport", dependencies: ["FakeUserKit"], path: "Tests/FuzzSupport"),
        .testTarget(name: "FakeUserKitTests", dependencies: ["FakeUserKit", "FuzzSupport"]),
        // Both test targets read ../shared/reference's files from Tests/Fixtures.
        .testTarget(name: "EndToEndTests", dependencies: ["FakeUserKit", "FuzzSupport"]),
        .testTarget(
            name: "ServerTests",
            dependencies: [
                "FakeUserServer",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
    ]
)
