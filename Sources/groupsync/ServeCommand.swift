import ArgumentParser
import Foundation
import GroupSync
import GroupSyncDaemon

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "The daemon: scheduled syncs, the control and query API, metrics.",
        discussion: """
            Listens on the Unix socket (server.socket, default groupsync.sock beside the store; mode 0660) and, \
            with server.listen, on TCP where every request needs the bearer token from server.token_file. \
            SIGTERM/SIGINT stop it gracefully; SIGHUP reloads the configuration (an invalid one is logged and the \
            old one stays). Logs are JSON lines unless standard error is a terminal. Exit codes: 0 clean shutdown · \
            2 configuration error · 3 cannot start (store, socket or address unavailable).
            """
    )

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let config = try global.loadConfig()
        let store = try global.openStore(config)
        let logger = global.makeLogger(defaultLevel: .info, json: isatty(STDERR_FILENO) != 1)
        do {
            try await Daemon(config: config, store: store, logger: logger).run()
        } catch {
            throw fail("cannot serve: \(error)", .unavailable)
        }
    }
}
