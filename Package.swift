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
        .executableTarget(
            name: "groupsync",
            dependencies: [
                "LDAPClient",
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
            name: "ldap-leakcheck",
            dependencies: ["LDAPClient", "LDAPTestSupport"],
            path: "Benchmarks/LDAPLeakCheck",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LDAPClientTests",
            dependencies: ["LDAPClient", "LDAPTestSupport"],
            swiftSettings: swiftSettings
        ),
    ]
)
