import ArgumentParser
import Foundation
import GroupSync
import Logging
import SyncStore

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "The configuration file (default: ./groupsync.yaml, then /etc/groupsync/groupsync.yaml).")
    var config: String?

    @Flag(name: .shortAndLong, help: "Log what happens (info level) on standard error.")
    var verbose = false

    @Flag(name: .long, help: "Log LDAP searches as ldapsearch command lines (debug level).")
    var debug = false

    func loadConfig() throws -> GroupSyncConfig {
        do {
            return try ConfigLoader.load(path: try ConfigLoader.locate(config))
        } catch {
            throw fail("configuration error: \(error)", .usage)
        }
    }

    func openStore(_ config: GroupSyncConfig) throws -> Store {
        do {
            return try Store(path: config.store.path)
        } catch {
            throw fail("\(error)", .unavailable)
        }
    }

    func makeLogger() -> Logger {
        let level: Logger.Level = debug ? .debug : (verbose ? .info : .warning)
        LoggingBootstrap.once(level: level)
        var logger = Logger(label: "groupsync")
        logger.logLevel = level
        return logger
    }
}

enum LoggingBootstrap {
    nonisolated(unsafe) private static var done = false

    /// Logs go to standard error so `--json` output on standard output stays clean.
    static func once(level: Logger.Level) {
        guard !done else { return }
        done = true
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
