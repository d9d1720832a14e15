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

        @OptionGroup var remote: ServerOptions

        func validate() throws {
            guard limit > 0 else { throw ValidationError("--limit must be at least 1") }
        }

        func run() async throws {
            let config = try global.loadConfig()
            if let client = try remote.client(config) {
                var pairs = [("limit", String(limit))]
                if let directory { pairs.append(("directory", directory)) }
                let (list, body) = try await daemonGet(client, "/v1/runs?" + query(pairs), as: RemoteRuns.self)
                print(json ? String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : (list?.table ?? ""))
                return
            }
            let store = try global.openStore(config)
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

        @OptionGroup var remote: ServerOptions

        func run() async throws {
            let config = try global.loadConfig()
            if let client = try remote.client(config) {
                let (run, body) = try await daemonGet(client, "/v1/runs/\(id)", as: RemoteRuns.Run.self)
                print(json ? String(decoding: body, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : (run.map { RemoteRuns(runs: [$0]).table + "\n" + ($0.changes ?? []).map { "  " + $0.summary }.joined(separator: "\n") } ?? ""))
                return
            }
            let store = try global.openStore(config)
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

/// Runs as the daemon's API returns them, for `runs --server` without `--json`.
struct RemoteRuns: Decodable {
    struct Run: Decodable {
        struct Change: Decodable { var summary: String }
        var id: Int64?
        var directory: String
        var trigger: String
        var mode: String?
        var outcome: String
        var started_at: String
        var changes_total: Int
        var message: String?
        var changes: [Change]?
    }

    var runs: [Run]

    var table: String {
        var table = TextTable(header: ["run", "directory", "trigger", "mode", "outcome", "started (UTC)", "changes"], rightAligned: [0, 6])
        for run in runs {
            table.add([
                run.id.map(String.init) ?? "", run.directory, run.trigger, run.mode ?? "", run.outcome, run.started_at, String(run.changes_total),
            ])
        }
        return table.render()
    }
}
