import ArgumentParser
import Foundation

/// The exit codes scripts rely on (INTERFACE.md).
enum ExitStatus: Int32 {
    case ok = 0
    case checkedFalse = 1
    case usage = 2
    case unavailable = 3
    case stoppedByLimit = 4

    var exitCode: ExitCode { ExitCode(rawValue) }
}

/// Prints `groupsync: <message>` on standard error and exits with `status`.
func fail(_ message: String, _ status: ExitStatus) -> ExitCode {
    FileHandle.standardError.write(Data("groupsync: \(message)\n".utf8))
    return status.exitCode
}
