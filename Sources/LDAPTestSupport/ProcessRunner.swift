import Foundation

/// Runs a command to completion and returns its standard output; throws with its
/// standard error when it exits non-zero.
@discardableResult
public func runCommand(_ executable: String, _ arguments: [String], input: String? = nil, environment: [String: String]? = nil) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: try resolveExecutable(executable))
    process.arguments = arguments
    if let environment { process.environment = environment }
    let stdout = Pipe(), stderr = Pipe()
    process.standardOutput = stdout
    process.standardError = stderr
    let stdin = Pipe()
    process.standardInput = input == nil ? FileHandle.nullDevice : stdin
    try process.run()
    // Write standard input from another thread while reading the outputs here, so neither
    // side can block on a full pipe; a child that exits early is reported, not a crash.
    let writer = input.map { PipeWriter(stdin.fileHandleForWriting, Data($0.utf8)) }
    // Drain both pipes before waiting so a chatty child cannot block on a full pipe.
    let errorReader = PipeReader(stderr.fileHandleForReading)
    let outData = stdout.fileHandleForReading.readDataToEndOfFile()
    let errData = errorReader.wait()
    writer?.wait()
    process.waitUntilExit()
    let output = String(decoding: outData, as: UTF8.self)
    guard process.terminationStatus == 0 else {
        throw CommandError(
            command: ([executable] + arguments).joined(separator: " "), status: process.terminationStatus,
            output: output, errorOutput: String(decoding: errData, as: UTF8.self))
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

/// Reads a pipe to its end on a background thread.
final class PipeReader: @unchecked Sendable {
    private var data = Data()
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle) {
        Thread.detachNewThread { [self] in
            data = handle.readDataToEndOfFile()
            done.signal()
        }
    }

    func wait() -> Data {
        done.wait()
        return data
    }
}

/// Writes data to a pipe on a background thread and closes it; a closed pipe ends the write.
final class PipeWriter: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)

    init(_ handle: FileHandle, _ data: Data) {
        Thread.detachNewThread { [self] in
            try? handle.write(contentsOf: data)
            try? handle.close()
            done.signal()
        }
    }

    func wait() { done.wait() }
}

/// ``runCommand(_:_:input:environment:)`` on a thread of its own, for long commands: waiting
/// for them must not hold one of the few threads Swift concurrency runs every test on.
/// Runs blocking work (commands, file writing) on a thread of its own, so it does not hold
/// one of the few threads Swift concurrency runs every test's tasks on.
public func offThePool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}

public func runCommandDetached(_ executable: String, _ arguments: [String], input: String? = nil) async throws -> String {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try runCommand(executable, arguments, input: input) }) }.start()
    }
}

/// Writes a secret (a password or token file) readable by its owner only, as groupsync
/// requires of secret files.
public func writeSecret(_ text: String, to url: URL) throws {
    try? FileManager.default.removeItem(at: url)
    guard FileManager.default.createFile(atPath: url.path, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600]) else {
        throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: url.path])
    }
}
