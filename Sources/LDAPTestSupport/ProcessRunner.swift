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
    if let input {
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
    }
    // Drain both pipes before waiting so a chatty child cannot block on a full pipe.
    let errorReader = PipeReader(stderr.fileHandleForReading)
    let outData = stdout.fileHandleForReading.readDataToEndOfFile()
    let errData = errorReader.wait()
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
