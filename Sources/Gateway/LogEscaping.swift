import Logging

/// Log text that came from outside (a query value, a Xero answer, an error quoting either) made
/// safe to write (issue 13): every control character is written as an escape, so a value can
/// never start a new line or rewrite a terminal, and a backslash is doubled, so an escape in the
/// log always means one. Newline, carriage return and tab become `\n`, `\r`, `\t`; other C0 and C1
/// controls, DEL, the Unicode line and paragraph separators and the bidirectional overrides
/// (which can make a line read as something else) become `\u{XX}`.
public enum LogText {
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            guard needsEscape(s) else { out.append(s); continue }
            switch s {
            case "\\": out.append(contentsOf: #"\\"#.unicodeScalars)
            case "\n": out.append(contentsOf: #"\n"#.unicodeScalars)
            case "\r": out.append(contentsOf: #"\r"#.unicodeScalars)
            case "\t": out.append(contentsOf: #"\t"#.unicodeScalars)
            default: out.append(contentsOf: "\\u{\(String(s.value, radix: 16, uppercase: true))}".unicodeScalars)
            }
        }
        return String(out)
    }

    static func needsEscape(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x00...0x1F, 0x5C, 0x7F...0x9F: return true
        case 0x2028, 0x2029, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: return true
        default: return false
        }
    }

    /// A metadata value with every string in it escaped. A value that needs nothing is kept as
    /// it is (with any attributes it carries).
    static func escaped(_ value: Logger.MetadataValue) -> Logger.MetadataValue {
        switch value {
        case .string(let s): return .string(escaped(s))
        case .stringConvertible(let c):
            let s = c.description
            return s.unicodeScalars.contains(where: needsEscape) ? .string(escaped(s)) : value
        case .dictionary(let d): return .dictionary(escaped(d))
        case .array(let a): return .array(a.map { escaped($0) })
        }
    }

    static func escaped(_ metadata: Logger.Metadata) -> Logger.Metadata {
        metadata.mapValues { escaped($0) }
    }
}

/// A log handler that escapes (`LogText`) the message, every metadata value and the error's
/// description of each line before the handler it wraps sees them: the one place the gateway's
/// log is made safe, whatever a call site passes.
public struct EscapingLogHandler: LogHandler {
    public var wrapped: any LogHandler

    public init(_ wrapped: any LogHandler) {
        self.wrapped = wrapped
    }

    public func log(event: LogEvent) {
        var e = event
        let message = e.message.description
        if message.unicodeScalars.contains(where: LogText.needsEscape) {
            e.message = Logger.Message(stringLiteral: LogText.escaped(message))
        }
        e.metadata = e.metadata.map { LogText.escaped($0) }
        if let error = e.error {
            let text = "\(error)"
            if text.unicodeScalars.contains(where: LogText.needsEscape) { e.error = EscapedError(description: LogText.escaped(text)) }
        }
        wrapped.log(event: e)
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { wrapped[metadataKey: key] }
        set { wrapped[metadataKey: key] = newValue.map { LogText.escaped($0) } }
    }

    public var metadata: Logger.Metadata {
        get { wrapped.metadata }
        set { wrapped.metadata = LogText.escaped(newValue) }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { wrapped.metadataProvider }
        set { wrapped.metadataProvider = newValue.map { p in Logger.MetadataProvider { LogText.escaped(p.get()) } } }
    }

    public var logLevel: Logger.Level {
        get { wrapped.logLevel }
        set { wrapped.logLevel = newValue }
    }
}

/// An error as its escaped description (what `EscapingLogHandler` logs in place of one whose
/// description needed escaping).
struct EscapedError: Error, CustomStringConvertible {
    let description: String
}

extension Logger {
    /// This logger with everything it logs escaped (`EscapingLogHandler`); one that already
    /// escapes is returned as it is (nothing is escaped twice).
    public func escaping() -> Logger {
        guard !(handler is EscapingLogHandler) else { return self }
        var l = self
        l.handler = EscapingLogHandler(handler)
        return l
    }
}
