// swift-tools-version:6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "groupsync",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "groupsync", targets: ["groupsync"]),
        .library(name: "LDAPClient", targets: ["LDAPClient"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.29.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.34.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        // libldap/liblber, found through pkg-config "ldap" (Debian: libldap2-dev).
        .systemLibrary(
            name: "CLDAP",
            pkgConfig: "ldap",
            providers: [.apt(["libldap2-dev"])]
        ),
        .target(
            name: "LDAPClient",
            dependencies: [
                "CLDAP",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The scheduler slice of the daemon's run thread (sched_setattr has no Swift or glibc wrapper).
        .target(name: "CScheduling"),
        // Value types, mapping and the plan (a pure diff); no I/O.
        .target(
            name: "SyncCore",
            dependencies: ["LDAPClient"],
            swiftSettings: swiftSettings
        ),
        // Policies, profile groups, relay profiles and intents, and whether users land in
        // them: pure evaluation over what a Catalog (the store) answers.
        .target(
            name: "Verification",
            dependencies: ["SyncCore"],
            swiftSettings: swiftSettings
        ),
        // The SQLite store: migrations, snapshot, runs, apply in one transaction.
        .target(
            name: "SyncStore",
            dependencies: [
                "SyncCore", "LDAPClient", "Verification",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // The configuration file: its types, the loader (errors at key path and line), the
        // safety limits. No store and no network, so the fuzz targets build it alone.
        .target(
            name: "SyncConfig",
            dependencies: [
                "LDAPClient", "SyncCore", "Verification",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The store on PostgreSQL (issue 10): connection, schema, directory leases.
        .target(
            name: "PostgresStore",
            dependencies: [
                "SyncStore", "SyncCore", "Verification", "LDAPClient", "SyncConfig",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // `groupsync migrate-store`: a whole store copied between SQLite and PostgreSQL.
        .target(
            name: "StoreCopy",
            dependencies: [
                "SyncStore", "PostgresStore", "SyncConfig",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Runs (inquire → plan → apply), limits, configuration, reports.
        .target(
            name: "GroupSync",
            dependencies: [
                "LDAPClient", "SyncCore", "SyncStore", "Verification", "PostgresStore", "SyncConfig",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            swiftSettings: swiftSettings
        ),
        // The daemon: scheduler, run coordinator, HTTP API, metrics, and the client the CLI
        // uses to reach it.
        .target(
            name: "GroupSyncDaemon",
            dependencies: [
                "GroupSync", "SyncConfig", "SyncStore", "SyncCore", "Verification", "PostgresStore", "CScheduling",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "groupsync",
            dependencies: [
                "GroupSync", "GroupSyncDaemon", "SyncConfig", "LDAPClient", "SyncCore", "SyncStore", "Verification", "PostgresStore", "StoreCopy",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // Test support: a throwaway OpenLDAP slapd started from a generated cn=config.
        .target(
            name: "LDAPTestSupport",
            dependencies: ["LDAPClient"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "groupsync-demo",
            dependencies: ["LDAPTestSupport"],
            path: "Scripts/Demo",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "sync-benchmark",
            dependencies: [
                "LDAPTestSupport", "SyncStore", "SyncConfig", "GroupSync", "GroupSyncDaemon",
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/SyncBenchmark",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "ad-benchmark",
            dependencies: ["LDAPTestSupport", "SyncStore", "SyncCore"],
            path: "Benchmarks/ADBenchmark",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "ldap-leakcheck",
            dependencies: ["LDAPClient", "LDAPTestSupport"],
            path: "Benchmarks/LDAPLeakCheck",
            swiftSettings: swiftSettings
        ),
        // libFuzzer targets (`make fuzz`, built with -DGROUPSYNC_FUZZ -sanitize=fuzzer,address);
        // an ordinary build replays the committed corpora through them.
        .target(name: "CFuzzerDriver", path: "Fuzz/CFuzzerDriver"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzerDriver"], path: "Fuzz/FuzzSupport", swiftSettings: swiftSettings),
        .executableTarget(
            name: "fuzz-dn",
            dependencies: ["LDAPClient", "FuzzSupport"],
            path: "Fuzz/DNParser",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "fuzz-filter",
            dependencies: ["LDAPClient", "SyncConfig", "FuzzSupport"],
            path: "Fuzz/Filter",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "fuzz-config",
            dependencies: ["SyncConfig", "FuzzSupport"],
            path: "Fuzz/Config",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LDAPClientTests",
            dependencies: ["LDAPClient", "LDAPTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SyncCoreTests",
            dependencies: ["SyncCore", "LDAPClient", "LDAPTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SyncStoreTests",
            dependencies: ["SyncStore", "SyncCore", "SyncConfig", "PostgresStore", "LDAPTestSupport", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PostgresStoreTests",
            dependencies: [
                "PostgresStore", "StoreCopy", "SyncConfig", "SyncStore", "SyncCore", "Verification", "LDAPTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VerificationTests",
            dependencies: ["Verification", "SyncCore", "LDAPTestSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GroupSyncDaemonTests",
            dependencies: [
                "GroupSyncDaemon", "GroupSync", "SyncConfig", "SyncStore", "LDAPTestSupport", "Verification",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GroupSyncTests",
            dependencies: ["GroupSync", "SyncConfig", "SyncCore", "SyncStore", "Verification", "LDAPClient", "LDAPTestSupport"],
            swiftSettings: swiftSettings
        ),
    ]
)
