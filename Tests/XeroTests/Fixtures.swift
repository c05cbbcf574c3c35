import Foundation

/// Xero's documented examples, hand-written to Xero's schema (Tests/Fixtures/xero, see its README).
enum Fixtures {
    static let directory: URL = {
        var dir = URL(fileURLWithPath: #filePath)
        for _ in 0..<2 { dir.deleteLastPathComponent() }  // Tests/XeroTests/Fixtures.swift → Tests
        return dir.appendingPathComponent("Fixtures/xero")
    }()

    static func bytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    static func text(_ name: String) -> String {
        guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(name).path) else {
            fatalError("missing fixture \(name) in \(directory.path)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    static let webhookKey = "fixture-webhook-key-NOT-REAL-3u1Qm7Yt0d9Vb2Xn"
}
