#if canImport(Glibc)
import Glibc
#endif

extension Database {
    /// Makes the database private before SQLite opens it (issue 13): its folder is created 0700
    /// (every missing level) and an existing one of this user's is tightened to 0700 unless it is
    /// a shared sticky folder such as /tmp; the database file is created 0600, and it and its
    /// `-wal`, `-shm`, `-journal` and `-locks` files, when they exist and are this user's, are tightened
    /// to 0600. SQLite creates the `-wal`, `-shm` and `-journal` files with the database file's
    /// mode, so they are 0600 from the start too. Files and folders of another user are left as
    /// they are (the operator chose them). `:memory:` and `file:` URIs are left to SQLite.
    static func secureFiles(at path: String) throws {
        guard isFile(path) else { return }
        let folder = parentFolder(of: path)
        try makeFolder(folder)
        var st = stat()
        if stat(folder, &st) == 0, st.st_uid == geteuid(), st.st_mode & S_ISVTX == 0, st.st_mode & 0o077 != 0 {
            guard chmod(folder, 0o700) == 0 else {
                throw StoreError(code: .openFailed, message: "cannot make the database folder \(folder) private (0700): \(errnoText())")
            }
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw StoreError(code: .openFailed, message: "cannot create the database file \(path): \(errnoText())")
        }
        _ = Glibc.close(fd)
        for file in [path, path + "-wal", path + "-shm", path + "-journal", path + "-locks"] {
            guard stat(file, &st) == 0, st.st_uid == geteuid(), st.st_mode & 0o077 != 0 else { continue }
            guard chmod(file, 0o600) == 0 else {
                throw StoreError(code: .openFailed, message: "cannot make the database file \(file) private (0600): \(errnoText())")
            }
        }
    }

    /// Whether `path` names a database file this code manages: not `:memory:` (or empty, a
    /// temporary database) and not a `file:` URI left to SQLite.
    static func isFile(_ path: String) -> Bool {
        !path.isEmpty && path != ":memory:" && !path.hasPrefix("file:")
    }

    /// The folder `path` is in ("." for a bare file name).
    static func parentFolder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let folder = String(path[..<slash])
        return folder.isEmpty ? "/" : folder
    }

    /// Creates `folder` and any missing parents, each 0700.
    private static func makeFolder(_ folder: String) throws {
        var st = stat()
        if stat(folder, &st) == 0 { return }
        let parent = parentFolder(of: folder)
        if parent != folder { try makeFolder(parent) }
        guard mkdir(folder, 0o700) == 0 || errno == EEXIST else {
            throw StoreError(code: .openFailed, message: "cannot create the database folder \(folder): \(errnoText())")
        }
    }

    private static func errnoText() -> String { String(cString: strerror(errno)) }
}
