import Foundation

/// The shared Xero fixtures (../shared/xero/fixtures), found from this file's location.
enum Fixtures {
    static let directory: URL = {
        var dir = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { dir.deleteLastPathComponent() }  // Tests/XeroTests/Fixtures.swift → repo
        return dir.deletingLastPathComponent().appendingPathComponent("shared/xero/fixtures")
    }()

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    static let webhookKey = "fixture-webhook-key-NOT-REAL-3u1Qm7Yt0d9Vb2Xn"
}
