import Logging
import Synchronization

/// Collects every log line of the test process, so tests can check what was (not) logged.
final class LogCapture: Sendable {
    static let shared: LogCapture = {
        let c = LogCapture()
        LoggingSystem.bootstrap { label in CaptureHandler(label: label, capture: c) }
        return c
    }()
    private let lines = Mutex<[String]>([])
    var text: String { lines.withLock { $0.joined(separator: "\n") } }
    func append(_ line: String) { lines.withLock { $0.append(line) } }
}

struct CaptureHandler: LogHandler {
    let label: String
    let capture: LogCapture
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace
    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }
    func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        capture.append("\(event.level) \(event.message) \(all) \(event.error.map { "\($0)" } ?? "")")
    }
}
