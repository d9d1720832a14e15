import Foundation

/// An exclusive lock on a store for the length of a sync run (`<store>.lock`, flock(2)),
/// so two syncs against one store never interleave, whichever processes run them.
/// The kernel releases it when the process exits, even on SIGKILL.
public final class StoreLock: Sendable {
    public let path: String
    private let fd: Int32

    /// Takes the lock, or throws at once when another process holds it.
    public init(storePath: String) throws(StoreLockError) {
        path = storePath + ".lock"
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw StoreLockError(path: path, holder: nil, reason: String(cString: strerror(errno))) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            var buffer = [UInt8](repeating: 0, count: 32)
            let count = pread(fd, &buffer, 31, 0)
            let holder = count > 0 ? String(decoding: buffer[0..<count], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : nil
            close(fd)
            throw StoreLockError(path: path, holder: holder, reason: nil)
        }
        ftruncate(fd, 0)
        let pid = "\(getpid())\n"
        _ = pid.withCString { pwrite(fd, $0, strlen($0), 0) }
        self.fd = fd
    }

    deinit {
        ftruncate(fd, 0)
        flock(fd, LOCK_UN)
        close(fd)
    }
}

public struct StoreLockError: Error, Sendable, CustomStringConvertible {
    public var path: String
    public var holder: String?
    public var reason: String?
    /// The directory whose lock is held (a PostgreSQL store locks per directory).
    public var directory: String?

    public init(path: String, holder: String?, reason: String?, directory: String? = nil) {
        self.path = path
        self.holder = holder
        self.reason = reason
        self.directory = directory
    }

    public var description: String {
        if let reason { return "cannot take the run lock of \(path): \(reason)" }
        let who = holder.map { " (process \($0))" } ?? ""
        let what = directory.map { "another sync of directory \($0)" } ?? "another sync"
        return "\(what) is running against this store\(who); wait for it to finish, or check `groupsync status` (lock: \(path))"
    }
}
