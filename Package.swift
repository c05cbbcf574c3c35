// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "xero-gateway",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "xero-gateway", targets: ["xero-gateway"]),
        .executable(name: "xero-sim", targets: ["xero-sim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        // C libraries, each with a shim.h of non-variadic wrappers.
        .systemLibrary(name: "CMicroHTTPD", pkgConfig: "libmicrohttpd",
                       providers: [.apt(["libmicrohttpd-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CPostgreSQL", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),

        // JSON, parsed strictly and written one way, for every module that speaks it.
        .target(name: "StrictJSON"),
        // Wall and monotonic clocks (injectable) and the one ISO-8601 timestamp format.
        .target(name: "Timekeeping"),
        // Dedicated threads for blocking work (Xero calls, SQLite), shared by Sync and Gateway.
        .target(name: "Workers"),
        .target(name: "HTTPServer", dependencies: ["CMicroHTTPD", "StrictJSON", "Timekeeping"]),
        .target(name: "HTTPClient", dependencies: ["CCurl"]),
        .target(name: "Crypto", dependencies: ["COpenSSL"]),
        .target(name: "Store", dependencies: ["CSQLite", "CPostgreSQL", "Crypto", "Timekeeping", "StrictJSON"]),
        .target(name: "Xero", dependencies: ["Crypto", "HTTPClient", "StrictJSON", "Timekeeping"]),
        // The rules R5–R18; reaches Store and Xero only through their protocols.
        .target(name: "Sync", dependencies: ["Xero", "Store", "StrictJSON", "Timekeeping", "Crypto", "Workers",
                                             .product(name: "Logging", package: "swift-log")]),
        .target(name: "Gateway", dependencies: [
            "HTTPServer", "Store", "Xero", "Crypto", "StrictJSON", "Timekeeping", "Sync", "Workers",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Mustache", package: "swift-mustache"),
        ]),
        .executableTarget(name: "xero-gateway", dependencies: [
            "Gateway", "Store", "Crypto", "HTTPClient", "HTTPServer", "StrictJSON", "Xero", "XeroSimulator",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // A faithful local Xero: shares HTTPServer and the Xero models, never Sync or Store.
        .target(name: "XeroSimulator", dependencies: [
            "HTTPServer", "HTTPClient", "Xero", "Crypto", "StrictJSON",
            .product(name: "Collections", package: "swift-collections"),
        ]),
        .executableTarget(name: "xero-sim", dependencies: [
            "XeroSimulator", "HTTPServer",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "HTTPServerTests", dependencies: ["HTTPServer", "HTTPClient", "StrictJSON"]),
        .testTarget(name: "HTTPClientTests", dependencies: ["HTTPClient", "HTTPServer"]),
        .testTarget(name: "CryptoTests", dependencies: ["Crypto"]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "Timekeeping"]),
        .testTarget(name: "StrictJSONTests", dependencies: ["StrictJSON"]),
        .testTarget(name: "SyncTests", dependencies: ["Sync", "Xero", "Store", "StrictJSON", "Timekeeping", "Crypto", "Workers",
                                                      .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "XeroTests", dependencies: ["Xero", "Crypto", "StrictJSON", "HTTPClient", "HTTPServer", "XeroSimulator"]),
        .testTarget(name: "XeroSimulatorTests", dependencies: ["XeroSimulator", "Xero", "HTTPClient", "HTTPServer", "Crypto", "StrictJSON"]),
        // The gateway and the simulator together, over real HTTP.
        .testTarget(name: "EndToEndTests", dependencies: [
            "Gateway", "XeroSimulator", "Store", "HTTPClient", "HTTPServer", "Crypto", "Xero", "StrictJSON", "Timekeeping", "Sync",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "InMemoryLogging", package: "swift-log"),
        ]),
        .testTarget(name: "GatewayTests", dependencies: [
            "Gateway", "Store", "HTTPClient", "Crypto", "Xero", "StrictJSON", "Timekeeping",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "InMemoryLogging", package: "swift-log"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
