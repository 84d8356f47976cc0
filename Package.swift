// swift-tools-version:6.0
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
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // libzstd from the system (Debian: libzstd-dev).
        .systemLibrary(
            name: "CZstd",
            pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"]), .brew(["zstd"])]
        ),
        .target(
            name: "FakeUserKit",
            dependencies: [
                "CZstd",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            // The parsers and counters are hot loops over class-owned buffers; dynamic
            // exclusivity checks cost about a tenth of featurize time there.
            swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]
        ),
        .executableTarget(name: "fu-synth", dependencies: ["FakeUserKit"]),
        .executableTarget(name: "fu-featurize", dependencies: ["FakeUserKit"]),
        .executableTarget(name: "fu-split", dependencies: ["FakeUserKit"]),
        .executableTarget(name: "fu-fit", dependencies: ["FakeUserKit"]),
        .executableTarget(name: "fu-cv", dependencies: ["FakeUserKit"]),
        .executableTarget(name: "fu-score", dependencies: ["FakeUserKit"]),
        .testTarget(name: "FakeUserKitTests", dependencies: ["FakeUserKit"]),
        // Both test targets read ../shared/reference's files from Tests/Fixtures.
        .testTarget(name: "EndToEndTests", dependencies: ["FakeUserKit"]),
    ]
)
