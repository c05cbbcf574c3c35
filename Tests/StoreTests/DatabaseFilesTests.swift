import Foundation
import Store
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The database is private to the gateway's user (issue 13): folder 0700, files 0600, the WAL's
/// and shared memory's too.
@Suite struct DatabaseFilesTests {
    func mode(_ path: String) -> mode_t? {
        var st = stat()
        return stat(path, &st) == 0 ? st.st_mode & 0o777 : nil
    }

    func root() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("xg-files-\(UUID().uuidString)").path
    }

    @Test func aNewDatabaseIsCreatedInAPrivateFolderWithPrivateFiles() throws {
        let top = root()
        defer { try? FileManager.default.removeItem(atPath: top) }
        let path = "\(top)/data/gateway.sqlite"   // neither folder exists yet
        let db = try Database(path: path)
        try db.write { c in try c.run("INSERT OR REPLACE INTO health_probe (id, written_at) VALUES (1, 'now')") }
        _ = try db.read { try $0.query("SELECT 1 AS one") }
        #expect(mode(top) == 0o700 && mode("\(top)/data") == 0o700)
        for file in [path, path + "-wal", path + "-shm"] {
            #expect(mode(file) == 0o600, "\(file): \(mode(file).map { String($0, radix: 8) } ?? "missing")")
        }
        db.close()
    }

    @Test func anOlderDatabaseLeftReadableByOthersIsTightenedWhenOpened() throws {
        let folder = root()
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let path = "\(folder)/gateway.sqlite"
        do {
            let db = try Database(path: path)
            try db.write { c in try c.run("INSERT OR REPLACE INTO health_probe (id, written_at) VALUES (1, 'now')") }
            // As an older build left them (its umask's 0644 and 0755), the WAL still open.
            for file in [path, path + "-wal", path + "-shm"] { chmod(file, 0o644) }
            chmod(folder, 0o755)
            let again = try Database(path: path)
            #expect(mode(folder) == 0o700)
            for file in [path, path + "-wal", path + "-shm"] { #expect(mode(file) == 0o600, "\(file)") }
            #expect(again.schemaVersion == db.schemaVersion)
            again.close()
            db.close()
        }
    }

    @Test func aSharedStickyFolderIsLeftAlone() throws {
        // /tmp itself: a database directly in it is private, the folder stays everyone's.
        let path = "/tmp/xg-files-\(UUID().uuidString).sqlite"
        defer { for f in [path, path + "-wal", path + "-shm"] { unlink(f) } }
        let before = mode("/tmp")
        let db = try Database(path: path)
        #expect(mode("/tmp") == before)
        #expect(mode(path) == 0o600)
        db.close()
    }

    @Test func aFolderThatCannotBeMadeIsASentence() {
        #expect { _ = try Database(path: "/proc/xg-nope/gateway.sqlite") } throws: { error in
            guard let e = error as? StoreError else { return false }
            return e.code == .openFailed && e.message.hasPrefix("cannot create the database folder /proc/xg-nope")
        }
    }
}
