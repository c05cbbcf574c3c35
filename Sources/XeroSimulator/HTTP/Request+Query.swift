import Crypto
import Foundation
import HTTPServer
import Xero
import StrictJSON

/// Query-string booleans as clients send them: `true`, `True`, `1`.
func parseBool(_ s: String?) -> Bool? {
    guard let s else { return nil }
    switch s.lowercased() {
    case "true", "1", "yes": return true
    case "false", "0", "no": return false
    default: return nil
    }
}

/// Case-insensitive query lookup (Xero's query names are case-insensitive).
func queryValue(_ r: Request, _ name: String) -> String? {
    if let v = r.queryValue(name) { return v }
    let lower = name.lowercased()
    return r.query.first { $0.name.lowercased() == lower }?.value
}
