/// An error from the store, with a typed, stable code and a message for people.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, as a stable code (its `rawValue` is what logs and APIs show, e.g. `not_found`).
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// A uniqueness or other constraint refused the write.
        public static let conflict = Code(rawValue: "conflict")
        /// The record the call names does not exist.
        public static let notFound = Code(rawValue: "not_found")
        /// An account name that is empty or too long.
        public static let invalidName = Code(rawValue: "invalid_name")
        /// A role that does not fit the call (an operator with an account).
        public static let invalidRole = Code(rawValue: "invalid_role")
        /// A user role that needs an account was given none.
        public static let invalidAccount = Code(rawValue: "invalid_account")
        /// The inbox is shutting down and accepts no more work.
        public static let stopping = Code(rawValue: "stopping")
        /// The database was written by a newer build.
        public static let schemaTooNew = Code(rawValue: "schema_too_new")
        /// A migration failed and was rolled back.
        public static let migrationFailed = Code(rawValue: "migration_failed")
        /// The database file could not be opened or created.
        public static let openFailed = Code(rawValue: "open_failed")
        /// A stored value the code cannot read (the schema's CHECKs should make this impossible).
        public static let corrupt = Code(rawValue: "corrupt")
        /// SQLite refused a statement (syntax, prepare, bind).
        public static let sqlite = Code(rawValue: "sqlite")
        /// The record is not at the version the write expected (someone else wrote it since).
        public static let preconditionFailed = Code(rawValue: "precondition_failed")
        /// A list cursor this store did not hand out.
        public static let invalidCursor = Code(rawValue: "invalid_cursor")
        /// The account is locked to another Xero organisation (R3): support must reset it first.
        public static let locked = Code(rawValue: "locked")
        /// Any other failure.
        public static let store = Code(rawValue: "store")
        /// SQLite result code `rc` from a step, e.g. `sqlite_5` (SQLITE_BUSY).
        public static func sqlite(_ rc: Int32) -> Code { Code(rawValue: "sqlite_\(rc)") }
    }

    public let code: Code
    public let message: String
    public init(code: Code, message: String) { self.code = code; self.message = message }
    public var description: String { "\(code): \(message)" }

    /// A conflict a schema constraint refused, in the database's words (`UNIQUE constraint
    /// failed: …`, as the memory twins say it too), not a sentence written for people.
    public var isConstraintViolation: Bool { code == .conflict && message.contains("constraint failed") }
}
