import Foundation
import Synchronization

/// A long-running child (slapd) started with posix_spawn and a clean signal state.
///
/// Foundation's `Process` passes on the spawning thread's signal mask, and test runners
/// block SIGTERM on their threads; a slapd started that way ignores SIGTERM and cannot be
/// stopped gracefully. Here the mask is emptied and every signal disposition reset.
public final class SpawnedProcess: Sendable {
    public let pid: pid_t
    private let status = Mutex<Int32?>(nil)

    /// Starts `executable` with `arguments`; standard output and error are appended to `logPath`.
    /// With `newProcessGroup`, the child leads a process group of its own, so that
    /// ``signalGroup(_:)`` reaches the children it forks (samba does).
    public init(executable: String, arguments: [String], logPath: String, newProcessGroup: Bool = false) throws {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        cleanSignalState(&attributes, newProcessGroup: newProcessGroup)

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        closeOtherDescriptors(&actions)

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, executable, &actions, &attributes, argv, environ)
        guard rc == 0 else {
            throw CommandError(command: executable, status: rc, output: "", errorOutput: String(cString: strerror(rc)))
        }
        self.pid = pid
    }

    /// Whether the child still runs; reaps it when it has exited.
    public var isRunning: Bool {
        status.withLock { status in
            guard status == nil else { return false }
            var raw: Int32 = 0
            if waitpid(pid, &raw, WNOHANG) == pid {
                status = raw
                return false
            }
            return true
        }
    }

    /// The exit code once the child has exited (128 + N for a signal N), else nil.
    public var exitCode: Int32? {
        guard !isRunning else { return nil }
        return status.withLock { status in
            guard let raw = status else { return nil }
            return (raw & 0x7F) == 0 ? (raw >> 8) & 0xFF : 128 + (raw & 0x7F)
        }
    }

    /// Signals the child's whole process group (see `newProcessGroup`).
    public func signalGroup(_ signal: Int32) {
        kill(-pid, signal)
    }

    public func signal(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// Sends `signal` `delay` after `text` first appears in the file at `logPath` (or when
    /// `timeout` passes without it), from a thread of its own: a task sleeping on a busy
    /// cooperative pool can wake far later than asked, and a fault meant for the middle of
    /// an operation would land after its end. Returns at once; the signal is sent only
    /// while the child runs.
    public func signal(_ signal: Int32, after delay: Duration, once text: String, appearsIn logPath: String, timeout: Duration = .seconds(120)) {
        let needle = Data(text.utf8)
        let thread = Thread { [self] in
            let deadline = ContinuousClock.now + timeout
            let log = LogTail(path: logPath, keeping: needle.count)
            while ContinuousClock.now < deadline, isRunning, !log.readOn().contains(needle) {
                usleep(500)
            }
            let (seconds, attoseconds) = delay.components
            var pause = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
            var left = timespec()
            while nanosleep(&pause, &left) == -1 && errno == EINTR { pause = left }
            self.signal(signal)
        }
        thread.start()
    }

    /// Waits for the child to exit, polling so no thread is blocked.
    public func waitForExit(timeout: Duration = .seconds(30)) async {
        let deadline = ContinuousClock.now + timeout
        while isRunning && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        if isRunning { killAndReap() }
    }

    /// Waits (blocking) for the child and returns its exit status and resource usage
    /// (peak resident memory in `ru_maxrss`, KiB). For benchmarks.
    public func waitWithUsage() -> (status: Int32, usage: rusage) {
        status.withLock { status in
            var raw: Int32 = 0
            var usage = rusage()
            if status == nil {
                wait4(pid, &raw, 0, &usage)
                status = raw
            }
            let code = (raw & 0x7F) == 0 ? (raw >> 8) & 0xFF : 128 + (raw & 0x7F)
            return (code, usage)
        }
    }

    /// SIGKILL and a blocking reap; for deinit and process exit.
    public func killAndReap() {
        status.withLock { status in
            guard status == nil else { return }
            kill(pid, SIGKILL)
            var raw: Int32 = 0
            waitpid(pid, &raw, 0)
            status = raw
        }
    }
}

/// Spawn attributes for a child with a clean signal state: nothing blocked, every
/// disposition at its default (test runners block and ignore signals on their threads).
/// With `newProcessGroup`, the child leads a process group of its own.
func cleanSignalState(_ attributes: inout posix_spawnattr_t, newProcessGroup: Bool = false) {
    var noSignals = sigset_t()
    sigemptyset(&noSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    var allSignals = sigset_t()
    sigfillset(&allSignals)
    posix_spawnattr_setsigdefault(&attributes, &allSignals)
    var flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
    if newProcessGroup {
        posix_spawnattr_setpgroup(&attributes, 0)
        flags |= POSIX_SPAWN_SETPGROUP
    }
    posix_spawnattr_setflags(&attributes, Int16(flags))
}

/// What a growing file has gained since it was last read, with the end of what came before
/// (`keeping` bytes less one) so a text split between two reads is still found: a file polled
/// every half millisecond is read once, not again from its start on every poll.
final class LogTail {
    private let path: String
    private let overlap: Int
    private var handle: FileHandle?
    private var carried = Data()

    init(path: String, keeping length: Int) {
        self.path = path
        overlap = max(0, length - 1)
    }

    deinit { try? handle?.close() }

    /// The new bytes, behind the kept end of the earlier ones (empty until the file exists).
    func readOn() -> Data {
        if handle == nil { handle = FileHandle(forReadingAtPath: path) }
        guard let handle, let fresh = try? handle.readToEnd(), !fresh.isEmpty else { return carried }
        let window = carried + fresh
        carried = window.suffix(overlap)
        return window
    }
}

extension Data {
    fileprivate func contains(_ other: Data) -> Bool { range(of: other) != nil }
}
