extension SQLDialect {
    /// A subquery giving the strings of the JSON array text bound at its one `?`, in a column
    /// `value` (for `… IN (\(valuesOfJSONArray))`): SQLite's `json_each`, PostgreSQL's
    /// `json_array_elements_text`, which needs the text cast to `json`.
    var valuesOfJSONArray: String {
        self == .sqlite ? "SELECT value FROM json_each(?)" : "SELECT value FROM json_array_elements_text(?::json)"
    }
}
