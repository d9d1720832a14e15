import ArgumentParser
import Foundation
import GroupSync
import GroupSyncDaemon
import SyncConfig
import SyncCore
import SyncStore

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Sync all directories now (or those named) and print what changed.",
        discussion: """
            Exit codes: 0 applied, nothing to do, or dry run · 2 usage or configuration error · \
            3 a directory or the store was unreachable, or a run failed · 4 a run stopped at a safety limit.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .customLong("directory"), help: "Sync only this directory (repeatable).")
    var directories: [String] = []

    @Flag(help: "Show the exact plan; write nothing but the run record.")
    var dryRun = false

    @Flag(help: "Apply even when the plan exceeds the safety limits.")
    var force = false

    @Flag(help: "Fetch the members of every group, even of groups whose change marker (entryCSN) did not move.")
    var full = false

    @Flag(help: "Print one JSON document on standard output.")
    var json = false

    @Option(help: "How many changes to list per directory in human output.")
    var show = 20

    func run() async throws {
        let config = try global.loadConfig()
        let store = try global.openStore(config)
        // A daemon owns the runs while it runs: trigger there, never beside it.
        if DaemonClient.answers(socket: config.controlSocket) {
            try await runThroughDaemon(config: config, store: store)
            return
        }
        let runner = SyncRunner(config: config, store: store, logger: global.makeLogger())
        let progress = ProgressLine(enabled: !json && isatty(STDERR_FILENO) == 1)
        let reports: [RunReport]
        let request = SyncRequest(directories: directories, dryRun: dryRun, force: force, full: full, trigger: .manual)
        var onProgress: (@Sendable (String, DirectoryReader.Progress) -> Void)?
        if progress.isEnabled {
            onProgress = { name, step in progress.update(name, step) }
        }
        do {
            reports = try await runner.run(request, progress: onProgress)
        } catch {
            progress.clear()
            switch error {
            case .unknownDirectory: throw fail("\(error)", .usage)
            case .locked, .store, .elsewhere: throw fail("\(error)", .unavailable)
            }
        }
        progress.clear()
        let landing = await runner.evaluateLandings(after: reports)
        try output(reports, landing: landing)
        // Exit here, with the snapshots still held: tearing down a million members object by
        // object only to exit costs about a tenth of a large run, and the kernel frees it all.
        // The store alone is closed first: its write-ahead log goes back into the database
        // file now, once, rather than being replayed by every command that opens the store
        // next (the admin's `verify` right after this sync among them).
        do {
            try store.close()
        } catch {
            global.makeLogger().warning("the store was not closed cleanly; the next command to open it replays its log", metadata: ["error": "\(error)"])
        }
        Foundation.exit(Self.exitStatus(for: reports).rawValue)
    }

    private func output(_ reports: [RunReport], landing: Result<ReportAnswer, VerifyError>?) throws {
        if json {
            let runs = reports.map { SyncJSON.Run($0.run, changes: $0.plan?.changes) }
            var output = SyncJSON.SyncOutput(runs: runs)
            if case .success(let report) = landing { output.landing = report }
            print(try SyncJSON.encode(output))
            return
        }
        for report in reports {
            let changes = report.plan?.changes ?? []
            print(SyncReportText.run(report.run, changes: changes, limit: show))
        }
        switch landing {
        case .success(let report): print(report.summary)
        case .failure(let error): print("landing: not evaluated: \(error)")
        case nil: break
        }
    }

    /// Starts (or joins) the runs in the daemon, shows progress from its status, then reads
    /// the finished runs from the store and prints them exactly as an in-process sync would.
    private func runThroughDaemon(config: GroupSyncConfig, store: any SnapshotStore) async throws {
        let client = DaemonClient(endpoint: .unix(config.controlSocket))
        struct Body: Encodable {
            var directories: [String]
            var dry_run: Bool
            var force: Bool
            var full: Bool
            var wait = false
        }
        struct Started: Decodable {
            struct Run: Decodable {
                var directory: String
                var id: Int64?
            }
            var runs: [Run]
        }
        let body = try JSONEncoder().encode(Body(directories: directories, dry_run: dryRun, force: force, full: full))
        let response: DaemonClient.Response
        do {
            response = try await client.request("POST", "/v1/sync", body: body)
        } catch {
            throw fail("\(error)", .unavailable)
        }
        guard response.status == 202, let started = try? JSONDecoder().decode(Started.self, from: response.body) else {
            let message = (try? JSONDecoder().decode([String: String].self, from: response.body))?["error"] ?? response.text
            throw fail("the daemon refused the sync: \(message)", response.status == 400 ? .usage : .unavailable)
        }
        let progress = ProgressLine(enabled: !json && isatty(STDERR_FILENO) == 1)
        if !json { FileHandle.standardError.write(Data("groupsync: running in the daemon (\(config.controlSocket))\n".utf8)) }
        var reports: [RunReport] = []
        func daemonStatus(_ directory: String) async -> StatusAnswer.Directory? {
            guard let (status, _) = try? await daemonGet(client, "/v1/status", as: StatusAnswer.self) else { return nil }
            return status?.directories.first { $0.name == directory }
        }
        for run in started.runs {
            guard let id = run.id else { throw fail("the daemon did not start a run of \(run.directory)", .unavailable) }
            // The store's record says when the run has committed (read every 20 ms: an
            // incremental run takes a fraction of a second); the daemon's status says when it
            // has also finished what follows the commit — the landing report this command
            // prints. Until then the store still holds the previous run's landings.
            var nextProgress = ContinuousClock.now
            while true {
                guard let record = try? store.run(id: id) else { throw fail("cannot read run \(id) from the store", .unavailable) }
                if record.outcome != .running {
                    if await daemonStatus(run.directory)?.runningRunID != id {
                        reports.append(RunReport(run: record, plan: nil))
                        break
                    }
                } else if progress.isEnabled, ContinuousClock.now >= nextProgress {
                    nextProgress = ContinuousClock.now + .milliseconds(200)
                    if let step = await daemonStatus(run.directory)?.progress {
                        progress.update(run.directory, DirectoryReader.Progress(phase: step.phase, entries: step.entries, elapsed: .seconds(Date().timeIntervalSince(record.startedAt))))
                    }
                }
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        progress.clear()
        var landing: Result<ReportAnswer, VerifyError>?
        if !config.policies.isEmpty, reports.contains(where: { [.applied, .noChanges].contains($0.run.outcome) }) {
            do {
                landing = .success(try VerificationService(config: config, store: store).report())
            } catch {
                landing = .failure(error)
            }
        }
        if json {
            var output = SyncJSON.SyncOutput(runs: try reports.map { SyncJSON.Run($0.run, changes: try store.changes(runID: $0.run.id!)) })
            if case .success(let report) = landing { output.landing = report }
            print(try SyncJSON.encode(output))
        } else {
            for report in reports {
                print(SyncReportText.run(report.run, changes: try store.changes(runID: report.run.id!, limit: show), limit: show))
            }
            switch landing {
            case .success(let report): print(report.summary)
            case .failure(let error): print("landing: not evaluated: \(error)")
            case nil: break
            }
        }
        throw Self.exitStatus(for: reports).exitCode
    }

    static func exitStatus(for reports: [RunReport]) -> ExitStatus {
        if reports.contains(where: { $0.run.outcome == .failed }) { return .unavailable }
        if reports.contains(where: { $0.run.outcome == .stoppedByLimit }) { return .stoppedByLimit }
        return .ok
    }
}

/// A one-line progress display on a terminal: entries read and the rate.
final class ProgressLine: @unchecked Sendable {
    let isEnabled: Bool
    private let lock = NSLock()
    private var shown = false

    init(enabled: Bool) { isEnabled = enabled }

    func update(_ directory: String, _ progress: DirectoryReader.Progress) {
        guard isEnabled else { return }
        let seconds = Double(progress.elapsed.components.seconds) + Double(progress.elapsed.components.attoseconds) / 1e18
        let rate = seconds > 0 ? Int(Double(progress.entries) / seconds) : 0
        lock.withLock {
            FileHandle.standardError.write(Data("\r\u{1B}[K\(directory): reading \(progress.phase), \(progress.entries) entries (\(rate)/s)".utf8))
            shown = true
        }
    }

    func clear() {
        lock.withLock {
            if shown { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
            shown = false
        }
    }
}
