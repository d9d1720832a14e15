import Foundation
import GroupSync
import Logging
import ServiceLifecycle
import SyncStore

/// Owns "a run is in progress". Runs go one at a time (they share the store lock); a
/// trigger for a directory whose run is queued or running, with the same options, joins
/// that run and gets its result instead of starting another.
public actor RunCoordinator: Service {
    struct FlightKey: Hashable {
        var directory: String
        var dryRun: Bool
        var force: Bool
        var full: Bool
    }

    final class Flight: @unchecked Sendable {
        var task: Task<Result<RunReport, SyncError>, Never>?
        var runID: Int64?
        var idWaiters: [CheckedContinuation<Int64?, Never>] = []
        let trigger: RunRecord.Trigger
        init(trigger: RunRecord.Trigger) { self.trigger = trigger }
    }

    /// Per directory, what `status` shows.
    public struct DirectoryStatus: Sendable {
        public var running = false
        public var runningRunID: Int64?
        public var progress: DirectoryReader.Progress?
        public var nextRun: Date?
        public var consecutiveFailures = 0
    }

    let state: DaemonState
    let metrics: DaemonMetrics?
    private var flights: [FlightKey: Flight] = [:]
    private var tail: Task<Void, Never>?
    private var statuses: [String: DirectoryStatus] = [:]
    private var lastLanding: ReportAnswer?
    private var shuttingDown = false

    public init(state: DaemonState, metrics: DaemonMetrics? = nil) {
        self.state = state
        self.metrics = metrics
    }

    /// Waits for the shutdown signal, then cancels queued and running runs and waits for
    /// them: a run past its last check is let finish its apply transaction, none is half-applied.
    public func run() async throws {
        try? await gracefulShutdown()
        shuttingDown = true
        let running = flights.values.compactMap(\.task)
        state.logger.info("shutting down: cancelling runs in progress", metadata: ["runs": "\(running.count)"])
        for task in running { task.cancel() }
        for task in running { _ = await task.value }
    }

    /// Runs (or joins) a sync of each requested directory and waits for the results.
    public func sync(_ request: SyncRequest) async throws(SyncError) -> [RunReport] {
        var reports: [RunReport] = []
        for (_, flight) in try await enqueue(request) {
            switch await flight.task!.value {
            case .success(let report): reports.append(report)
            case .failure(let error): throw error
            }
        }
        return reports
    }

    /// Starts (or joins) the runs and returns their ids as soon as they are known.
    public func start(_ request: SyncRequest) async throws(SyncError) -> [(directory: String, runID: Int64?)] {
        var ids: [(String, Int64?)] = []
        for (directory, flight) in try await enqueue(request) {
            if let id = flight.runID {
                ids.append((directory, id))
            } else {
                ids.append((directory, await withCheckedContinuation { flight.idWaiters.append($0) }))
            }
        }
        return ids
    }

    public func status() -> [String: DirectoryStatus] { statuses }
    public func landing() -> ReportAnswer? { lastLanding }

    public func setNextRun(_ date: Date?, directory: String) {
        statuses[directory, default: DirectoryStatus()].nextRun = date
    }

    // MARK: Flights

    private func enqueue(_ request: SyncRequest) async throws(SyncError) -> [(String, Flight)] {
        if shuttingDown { throw SyncError.store("the daemon is shutting down; no new runs start") }
        let known = await state.config.directories.map(\.name)
        for name in request.directories where !known.contains(name) {
            throw SyncError.unknownDirectory(name, known: known)
        }
        return (request.directories.isEmpty ? known : request.directories).map { directory in
            let key = FlightKey(directory: directory, dryRun: request.dryRun, force: request.force, full: request.full)
            if let flight = flights[key] { return (directory, flight) }
            let flight = Flight(trigger: request.trigger)
            flights[key] = flight
            statuses[directory, default: DirectoryStatus()].running = true
            let previous = tail
            var single = request
            single.directories = [directory]
            let task = Task { [single] in
                await previous?.value
                return await self.execute(single, key: key, flight: flight)
            }
            flight.task = task
            tail = Task { _ = await task.value }
            return (directory, flight)
        }
    }

    private func execute(_ request: SyncRequest, key: FlightKey, flight: Flight) async -> Result<RunReport, SyncError> {
        defer {
            flights[key] = nil
            statuses[key.directory, default: DirectoryStatus()].running = flights.keys.contains { $0.directory == key.directory }
            statuses[key.directory]?.progress = nil
            statuses[key.directory]?.runningRunID = nil
            for waiter in flight.idWaiters { waiter.resume(returning: flight.runID) }
            flight.idWaiters = []
        }
        let config = await state.config
        guard config.directory(named: key.directory) != nil else {
            return .failure(.unknownDirectory(key.directory, known: config.directories.map(\.name)))
        }
        if Task.isCancelled { return .failure(.store("cancelled: the daemon is shutting down")) }
        if let ownership = state.ownership {
            await ownership.firstRound(within: ownership.lease)
        }
        if let ownership = state.ownership, !ownership.owns(key.directory) {
            // Another daemon holds the directory's lease: it runs the syncs. A manual one is
            // handed to it; scheduled and watch-mode runs are its own to make.
            guard request.trigger == .api || request.trigger == .manual else {
                return .failure(.elsewhere("directory \(key.directory) is synced by another daemon (this one is \(ownership.name))"))
            }
            return await handOver(request, key: key, flight: flight, ownership: ownership)
        }
        let runner = SyncRunner(config: config, store: state.store, logger: state.logger)
        let directory = key.directory
        do {
            let reports = try await Self.runOnRunThread(
                runner, request,
                progress: { _, progress in Task { await self.setProgress(progress, directory: directory) } },
                onStart: { _, id in Task { await self.started(id, flight: flight, directory: directory) } })
            guard let report = reports.first else { return .failure(.store("the run produced no report")) }
            await finished(report, runner: runner)
            return .success(report)
        } catch {
            state.logger.error("sync could not run", metadata: ["directory": "\(directory)", "error": "\(error)"])
            metrics?.directoryError(directory)
            return .failure(error)
        }
    }

    /// Runs the sync off this actor and off the cooperative pool (see ``RunExecutor``).
    /// Cancelling the caller cancels the run.
    private nonisolated static func runOnRunThread(
        _ runner: SyncRunner, _ request: SyncRequest, progress: @escaping @Sendable (String, DirectoryReader.Progress) -> Void,
        onStart: @escaping @Sendable (String, Int64) -> Void
    ) async throws(SyncError) -> [RunReport] {
        // Watch-mode batches stay on the cooperative pool: small, waited for, and measured
        // slower on a thread of their own (release benchmark: delay p99 1.6 s → 4.7 s).
        let executor = RunExecutor.forRun(request.trigger)
        let task = Task(executorPreference: executor) { () async -> Result<[RunReport], SyncError> in
            do throws(SyncError) {
                // The compared snapshots (hundreds of MB on a large directory) are freed
                // here, at the run's priority, not on the pool the API's handlers share.
                // The run's side work (its store reads during the directory's) stays there too.
                let reports = try await SyncRunner.$sideWorkExecutor.withValue(executor) { () async -> Result<[RunReport], SyncError> in
                    do throws(SyncError) {
                        return .success(try await runner.run(request, progress: progress, onStart: onStart))
                    } catch {
                        return .failure(error)
                    }
                }.get()
                return .success(reports.map { report in
                    var report = report
                    report.compared = nil
                    return report
                })
            } catch {
                return .failure(error)
            }
        }
        let result = await withTaskCancellationHandler { await task.value } onCancel: { task.cancel() }
        return try result.get()
    }

    /// Hands a manual sync to the daemon that owns the directory, through the database, and
    /// waits for its run (polled; the owner claims requests within a fraction of a second).
    private func handOver(_ request: SyncRequest, key: FlightKey, flight: Flight, ownership: DirectoryOwnership) async -> Result<RunReport, SyncError> {
        let store = ownership.store
        do {
            let requests = try ownership.requests()
            let id = try requests.submit(directory: key.directory, dryRun: key.dryRun, force: key.force, full: key.full, by: ownership.name)
            state.logger.info("sync handed to the directory's owner", metadata: ["directory": "\(key.directory)", "request": "\(id)"])
            while true {
                if Task.isCancelled { return .failure(.store("cancelled: the daemon is shutting down")) }
                if case .finished(let runID, let error) = try requests.state(id) {
                    guard let runID, let run = try store.run(id: runID) else {
                        return .failure(.store(error ?? "the owner of directory \(key.directory) ran no sync"))
                    }
                    started(runID, flight: flight, directory: key.directory)
                    return .success(RunReport(run: run, plan: nil))
                }
                try? await Task.sleep(for: .milliseconds(100))
            }
        } catch {
            return .failure(.store("cannot hand the sync of \(key.directory) to its owner: \(error)"))
        }
    }

    private func started(_ id: Int64, flight: Flight, directory: String) {
        flight.runID = id
        statuses[directory, default: DirectoryStatus()].runningRunID = id
        for waiter in flight.idWaiters { waiter.resume(returning: id) }
        flight.idWaiters = []
    }

    private func setProgress(_ progress: DirectoryReader.Progress, directory: String) {
        guard statuses[directory]?.running == true else { return }
        statuses[directory]?.progress = progress
    }

    private func finished(_ report: RunReport, runner: SyncRunner) async {
        let run = report.run
        metrics?.record(run)
        if run.outcome == .failed {
            statuses[run.directory, default: DirectoryStatus()].consecutiveFailures += 1
        } else {
            statuses[run.directory, default: DirectoryStatus()].consecutiveFailures = 0
        }
        if [.applied, .noChanges].contains(run.outcome) {
            if run.outcome == .applied { await state.snapshotChanged(by: report.plan, directory: run.directory) } else { await state.snapshotConfirmed() }
            // The landing audit reads every policy target's members: run work, at run priority.
            let landing = Task(executorPreference: RunExecutor.forRun(run.trigger)) {
                await runner.evaluateLandings(after: [report])
            }
            if case .success(let answer) = await landing.value { lastLanding = answer }
        }
        if run.outcome == .applied {
            // The store's WAL is checkpointed after the run rather than inside its commit;
            // nobody waits for it (a next run's write waits at most for this).
            let store = state.store, logger = state.logger
            Task(executorPreference: RunExecutor.forRun(run.trigger)) {
                do {
                    try store.checkpoint()
                } catch {
                    logger.warning("checkpoint after the run failed (the next one retries)", metadata: ["error": "\(error)"])
                }
            }
        }
        if run.mode == .full {
            // A full run held the whole directory twice (read and stored) and freed it:
            // hand those pages back rather than keep the run's peak resident until exit.
            let (logger, metrics) = (state.logger, metrics)
            Task(executorPreference: RunExecutor.background) { HeapTrim.trim(after: .fullRun, logger: logger, metrics: metrics) }
        }
        state.logger.info("run finished", metadata: [
            "directory": "\(run.directory)", "run": "\(run.id ?? 0)", "outcome": "\(run.outcome.rawValue)",
            "trigger": "\(run.trigger.rawValue)",
        ])
    }
}
