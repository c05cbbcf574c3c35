#if canImport(Glibc)
import Glibc
#endif

extension Database {
    /// `F_OFD_SETLKW` (Linux 3.15+, `<fcntl.h>` under `_GNU_SOURCE`, which Swift's Glibc module
    /// does not define): wait for an open file description lock.
    private static let waitForOpenFileLock: Int32 = 38

    /// Runs `body` holding an exclusive lock named `name`, across every process and every
    /// `Database` open on this file: one byte (chosen by a hash of `name`) of the file
    /// `<path>-locks` (0600 beside the database), locked with an open file description lock, so
    /// it belongs to this call's descriptor alone and goes with it — when `body` returns, or when
    /// the process dies. Waits for the lock; call it on the gateway's own threads. An in-memory
    /// database has no other process and just runs `body`.
    public func withFileLock<T>(name: String, _ body: () -> T) throws(StoreError) -> T {
        guard Database.isFile(path) else { return body() }
        let lockPath = path + "-locks"
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw StoreError(code: .store, message: "cannot open the lock file \(lockPath): \(String(cString: strerror(errno)))")
        }
        defer { _ = Glibc.close(fd) }
        var h: UInt32 = 2166136261
        for b in name.utf8 { h = (h ^ UInt32(b)) &* 16777619 }
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = off_t(h & 0x7fff_ffff)
        lock.l_len = 1
        while fcntl(fd, Self.waitForOpenFileLock, &lock) != 0 {
            guard errno == EINTR else {
                throw StoreError(code: .store, message: "cannot lock \(lockPath): \(String(cString: strerror(errno)))")
            }
        }
        return body()
    }
}
