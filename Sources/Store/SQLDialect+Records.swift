/// What differs between the two SQL stores in the statements of SortScape's records, visits'
/// invoices, the sync engine's tables and the JSON texts those tables keep.
extension SQLDialect {
    /// A subquery of the strings in the JSON array text bound at its `?` (column `value`), for
    /// `IN (…)`: SQLite's `json_each`; PostgreSQL's `json_array_elements_text`, which takes `json`,
    /// not the text a parameter is bound as.
    var jsonArrayValues: String {
        self == .sqlite ? "SELECT value FROM json_each(?)" : "SELECT value FROM json_array_elements_text(?::json)"
    }

    /// The operator that compares two values treating NULL as one value: SQLite's `IS NOT` takes
    /// any operand, PostgreSQL's only NULL or a boolean.
    var isDistinctFrom: String { self == .sqlite ? "IS NOT" : "IS DISTINCT FROM" }

    /// The larger of two values: SQLite's scalar `MAX(a, b)`; PostgreSQL's `MAX` is only an aggregate.
    func greatest(_ a: String, _ b: String) -> String { self == .sqlite ? "MAX(\(a), \(b))" : "GREATEST(\(a), \(b))" }

    /// The smaller of two values: SQLite's scalar `MIN(a, b)`; PostgreSQL's `MIN` is only an aggregate.
    func least(_ a: String, _ b: String) -> String { self == .sqlite ? "MIN(\(a), \(b))" : "LEAST(\(a), \(b))" }
}
