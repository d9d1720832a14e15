import ArgumentParser
import Foundation
import GroupSync
import GroupSyncDaemon
import Logging
import SyncConfig
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

    func openStore(_ config: GroupSyncConfig) throws -> any SnapshotStore {
        do {
            return try config.store.open()
        } catch {
            throw fail("\(error)", .unavailable)
        }
    }

    func makeLogger(defaultLevel: Logger.Level = .warning, json: Bool = false) -> Logger {
        let level: Logger.Level = debug ? .debug : (verbose ? .info : defaultLevel)
        LoggingBootstrap.once(level: level, json: json)
        var logger = Logger(label: "groupsync")
        logger.logLevel = level
        return logger
    }
}

enum LoggingBootstrap {
    nonisolated(unsafe) private static var done = false

    /// Logs go to standard error so `--json` output on standard output stays clean; with
    /// `json`, as one JSON object per line (the daemon under systemd or a log shipper).
    static func once(level: Logger.Level, json: Bool = false) {
        guard !done else { return }
        done = true
        LoggingSystem.bootstrap { label in
            if json { return JSONLogHandler(label: label, level: level) }
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}

/// `--server URL` and its token: ask a daemon instead of reading the store.
struct ServerOptions: ParsableArguments {
    @Option(help: "Ask the daemon at this URL (http://HOST:PORT) instead of reading the store.")
    var server: String?

    @Option(name: .customLong("token-file"), help: "The bearer token for --server (default: server.token_file from the configuration).")
    var tokenFile: String?

    /// The client for `--server`, or nil to read the store.
    func client(_ config: GroupSyncConfig) throws -> DaemonClient? {
        guard let server else { return nil }
        var token: String?
        if let path = tokenFile ?? config.server.tokenFile {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw fail("cannot read the token file \(path)", .usage) }
            token = text.split(whereSeparator: \.isNewline).first.map { $0.trimmingCharacters(in: .whitespaces) }
        }
        do {
            return try DaemonClient(url: server, token: token, timeout: 120)
        } catch {
            throw fail("\(error)", .usage)
        }
    }
}

/// Sends a GET to the daemon; returns the body of a 200, or exits with the status's meaning.
func daemonGet<T: Decodable>(_ client: DaemonClient, _ path: String, as type: T.Type, allow: Set<Int> = [200]) async throws -> (T?, Data) {
    let response: DaemonClient.Response
    do {
        response = try await client.request("GET", path)
    } catch {
        throw fail("\(error)", .unavailable)
    }
    guard allow.contains(response.status) else {
        let message = (try? JSONDecoder().decode([String: String].self, from: response.body))?["error"] ?? response.text
        switch response.status {
        case 400, 404: throw fail(message, .usage)
        case 401: throw fail("the daemon refused the token (401): check --token-file", .usage)
        default: throw fail("the daemon answered \(response.status): \(message)", .unavailable)
        }
    }
    return (try? JSONDecoder().decode(T.self, from: response.body), response.body)
}

/// A query string from pairs, each value percent-encoded.
func query(_ pairs: [(String, String)]) -> String {
    var allowed = CharacterSet.urlQueryAllowed
    allowed.remove(charactersIn: "&=+?#")
    return pairs.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)" }.joined(separator: "&")
}
