import Foundation

/// Runs a command to completion and returns its standard output; throws with its
/// standard error when it exits non-zero.
///
/// posix_spawn, a poll loop that feeds standard input and drains both outputs, and
/// waitpid: no helper threads and no dispatch. (Foundation's `Process.waitUntilExit` waits
/// for a notification that needs a free dispatch thread; called from tests, which run on
/// those same few threads, several at once could wait for each other forever.)
@discardableResult
public func runCommand(_ executable: String, _ arguments: [String], input: String? = nil, environment: [String: String]? = nil) throws -> String {
    let path = try resolveExecutable(executable)
    let command = ([executable] + arguments).joined(separator: " ")
    var inPipe: [Int32] = [-1, -1], outPipe: [Int32] = [-1, -1], errPipe: [Int32] = [-1, -1]
    // Close-on-exec: a child another thread spawns meanwhile must not inherit these ends (it
    // would hold the output pipe open, and this read would wait for that child to exit).
    // (Glibc's pipe2 is not visible to Swift; fcntl right after pipe leaves a tiny window.)
    guard pipe(&inPipe) == 0, pipe(&outPipe) == 0, pipe(&errPipe) == 0 else {
        throw CommandError(command: command, status: -1, output: "", errorOutput: "pipe: \(String(cString: strerror(errno)))")
    }
    for fd in inPipe + outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0)
    posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
    posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
    // Nothing else this process has open reaches the child (a file another thread is
    // writing would stay open for writing in it: "text file busy" when that file is run).
    closeOtherDescriptors(&actions)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    cleanSignalState(&attributes)

    let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
    let envp: [UnsafeMutablePointer<CChar>?]? = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
    defer {
        for pointer in argv { free(pointer) }
        for pointer in envp ?? [] { free(pointer) }
    }
    var pid: pid_t = 0
    let rc = envp.map { envp in posix_spawn(&pid, path, &actions, &attributes, argv, envp) } ?? posix_spawn(&pid, path, &actions, &attributes, argv, environ)
    close(inPipe[0])
    close(outPipe[1])
    close(errPipe[1])
    guard rc == 0 else {
        for fd in [inPipe[1], outPipe[0], errPipe[0]] { close(fd) }
        throw CommandError(command: command, status: rc, output: "", errorOutput: String(cString: strerror(rc)))
    }

    let stdin = Array((input ?? "").utf8)
    var written = 0
    var inFD: Int32 = inPipe[1]
    if stdin.isEmpty { close(inFD); inFD = -1 } else { _ = fcntl(inFD, F_SETFL, fcntl(inFD, F_GETFL) | O_NONBLOCK) }
    var outFD = outPipe[0], errFD = errPipe[0]
    var out: [UInt8] = [], err: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while outFD >= 0 || errFD >= 0 || inFD >= 0 {
        var fds = [
            pollfd(fd: inFD, events: Int16(POLLOUT), revents: 0),
            pollfd(fd: outFD, events: Int16(POLLIN), revents: 0),
            pollfd(fd: errFD, events: Int16(POLLIN), revents: 0),
        ]
        guard poll(&fds, 3, -1) >= 0 || errno == EINTR else { break }
        if inFD >= 0, fds[0].revents != 0 {
            let count = stdin.withUnsafeBytes { write(inFD, $0.baseAddress! + written, stdin.count - written) }
            if count > 0 { written += count }
            // Done, or the child closed its end (it exits early: its status says why).
            if written == stdin.count || (count < 0 && errno != EAGAIN && errno != EINTR) {
                close(inFD)
                inFD = -1
            }
        }
        for (slot, isOut) in [(1, true), (2, false)] where fds[slot].revents != 0 {
            let fd = isOut ? outFD : errFD
            let count = read(fd, &buffer, buffer.count)
            if count > 0 {
                if isOut { out += buffer[0..<count] } else { err += buffer[0..<count] }
            } else if count == 0 || (errno != EAGAIN && errno != EINTR) {
                close(fd)
                if isOut { outFD = -1 } else { errFD = -1 }
            }
        }
    }
    var raw: Int32 = 0
    while waitpid(pid, &raw, 0) < 0 && errno == EINTR {}
    let status = (raw & 0x7F) == 0 ? (raw >> 8) & 0xFF : 128 + (raw & 0x7F)
    let output = String(decoding: out, as: UTF8.self)
    guard status == 0 else {
        throw CommandError(command: command, status: status, output: output, errorOutput: String(decoding: err, as: UTF8.self))
    }
    return output
}

public struct CommandError: Error, CustomStringConvertible {
    public var command: String
    public var status: Int32
    public var output: String
    public var errorOutput: String

    public init(command: String, status: Int32, output: String, errorOutput: String) {
        self.command = command
        self.status = status
        self.output = output
        self.errorOutput = errorOutput
    }

    public var description: String {
        "`\(command)` exited with \(status): \(errorOutput.isEmpty ? output : errorOutput)"
    }
}

/// Finds an executable on PATH, and in the sbin folders where Debian puts slapd and slapadd.
public func resolveExecutable(_ name: String) throws -> String {
    if name.hasPrefix("/") { return name }
    let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/usr/sbin:/sbin:/usr/bin:/bin"
    for folder in path.split(separator: ":") {
        let candidate = "\(folder)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    throw CommandError(
        command: name, status: 127, output: "",
        errorOutput: "\(name) is not installed (the test command installs slapd, ldap-utils and openssl: run `make test`)")
}

/// Runs blocking work (commands, file writing) on a thread of its own, so it does not hold
/// one of the few threads Swift concurrency runs every test's tasks on.
public func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

/// ``runCommand(_:_:input:environment:)`` on a thread of its own, for long commands: waiting
/// for them must not hold one of the few threads Swift concurrency runs every test on.
public func runCommandDetached(_ executable: String, _ arguments: [String], input: String? = nil) async throws -> String {
    try await offThePool { try runCommand(executable, arguments, input: input) }
}

/// Writes a secret (a password or token file) readable by its owner only, as groupsync
/// requires of secret files.
public func writeSecret(_ text: String, to url: URL) throws {
    try? FileManager.default.removeItem(at: url)
    guard FileManager.default.createFile(atPath: url.path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
        throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
    }
}

/// Adds "close every descriptor from 3 up" to a spawn's file actions (glibc 2.34's
/// posix_spawn_file_actions_addclosefrom_np, looked up at run time: Swift does not see it).
func closeOtherDescriptors(_ actions: inout posix_spawn_file_actions_t) {
    typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return }
    _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3)
}
