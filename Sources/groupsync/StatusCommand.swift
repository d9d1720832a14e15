import ArgumentParser
import Foundation
import GroupSync
import GroupSyncDaemon

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Per directory: the last run, its outcome and age, whether a run is in progress, and the next scheduled run.",
        discussion: """
            Asks the daemon (on its socket, or --server) when one runs; otherwise reads the store, \
            which cannot know the next scheduled run. Exit codes: 0 · 2 usage or configuration error · 3 store unreachable.
            """
    )

    @OptionGroup var global: GlobalOptions
    @OptionGroup var remote: ServerOptions

    @Flag(help: "Print one JSON document on standard output.")
    var json = false

    func run() async throws {
        let config = try global.loadConfig()
        var client = try remote.client(config)
        if client == nil, DaemonClient.answers(socket: config.controlSocket) {
            client = DaemonClient(endpoint: .unix(config.controlSocket), timeout: 30)
        }
        let status: StatusAnswer
        if let client {
            let (answer, _) = try await daemonGet(client, "/v1/status", as: StatusAnswer.self)
            guard let answer else { throw fail("the daemon's answer is not a status", .unavailable) }
            status = answer
        } else {
            let store = try global.openStore(config)
            do {
                status = try StatusAnswer.fromStore(store, config: config)
            } catch {
                throw fail("\(error)", .unavailable)
            }
        }
        print(json ? try SyncJSON.encode(status) : status.text)
    }
}
