import ArgumentParser
import Foundation
import GroupSync
import SyncCore
import SyncStore

struct RunsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "Show the run history, or one run's changes.",
        subcommands: [List.self, Show.self],
        defaultSubcommand: List.self
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "The most recent runs, newest first.")

        @OptionGroup var global: GlobalOptions

        @Option(help: "How many runs to show.")
        var limit = 20

        @Option(name: .customLong("directory"), help: "Only runs of this directory.")
        var directory: String?

        @Flag(help: "Print one JSON document on standard output.")
        var json = false

        func validate() throws {
            guard limit > 0 else { throw ValidationError("--limit must be at least 1") }
        }

        func run() async throws {
            let store = try global.openStore(try global.loadConfig())
            let runs: [RunRecord]
            do {
                runs = try store.runs(directory: directory, limit: limit)
            } catch {
                throw fail("\(error)", .unavailable)
            }
            if json {
                print(try SyncJSON.encode(SyncJSON.SyncOutput(runs: runs.map { SyncJSON.Run($0) })))
            } else {
                print(SyncReportText.history(runs))
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "One run: its outcome, counts and every change.")

        @OptionGroup var global: GlobalOptions

        @Argument(help: "The run id (see `groupsync runs`).")
        var id: Int64

        @Flag(help: "Print one JSON document on standard output.")
        var json = false

        func run() async throws {
            let store = try global.openStore(try global.loadConfig())
            let run: RunRecord
            let changes: [PlannedChange]
            do {
                guard let found = try store.run(id: id) else {
                    throw fail("no run with id \(id); `groupsync runs` lists them", .usage)
                }
                run = found
                changes = try store.changes(runID: id)
            } catch let error as StoreError {
                throw fail("\(error)", .unavailable)
            }
            if json {
                print(try SyncJSON.encode(SyncJSON.Run(run, changes: changes)))
            } else {
                print(SyncReportText.run(run, changes: changes, limit: Int.max))
            }
        }
    }
}
