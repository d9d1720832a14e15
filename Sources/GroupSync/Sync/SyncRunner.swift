import Foundation
import Logging
import SyncConfig
import SyncCore
import SyncStore

/// What a sync was asked to do.
public struct SyncRequest: Sendable {
    public var directories: [String]
    public var dryRun: Bool
    public var force: Bool
    public var full: Bool
    public var trigger: RunRecord.Trigger

    public init(directories: [String] = [], dryRun: Bool = false, force: Bool = false, full: Bool = false, trigger: RunRecord.Trigger = .manual) {
        self.directories = directories
        self.dryRun = dryRun
        self.force = force
        self.full = full
        self.trigger = trigger
    }
}

/// The outcome of one directory's run, with the plan when there was one.
public struct RunReport: Sendable {
    public var run: RunRecord
    public var plan: Plan?
    /// What the directory returned and what the store held, when the run got that far.
    public var compared: ComparedSnapshots?

    public init(run: RunRecord, plan: Plan? = nil, compared: ComparedSnapshots? = nil) {
        self.run = run
        self.plan = plan
        self.compared = compared
    }
}

/// The stored header could not be read (the run fails as a store error, not a directory one).
struct HeaderUnavailable: Error {
    var description: String
}

/// The two snapshots a run compared.
public struct ComparedSnapshots: Sendable {
    public var wanted: Snapshot
    public var current: Snapshot
}

/// Runs syncs: inquire → plan → check limits → apply, one directory at a time, under the
/// store lock. Every run ends recorded in the store, whatever its outcome.
public struct SyncRunner: Sendable {
    public let config: GroupSyncConfig
    public let store: any SnapshotStore
    let logger: Logger
    /// Whether incremental runs whose changes are member values only compare just those
    /// values (``IncrementalReader/readMemberDeltas(_:changed:)``); off, they compare whole
    /// member sets, as every other incremental run does. Tests turn it off to compare the two.
    public var usesMemberDeltas = true

    /// Where a run's side work goes — the store's header, read while the directory answers.
    /// Nil: Swift's global executor. The daemon sets its run thread, so a run stays off the
    /// cooperative pool the API shares (there the read waits its turn on that thread).
    @TaskLocal public static var sideWorkExecutor: (any TaskExecutor)?

    public init(config: GroupSyncConfig, store: any SnapshotStore, logger: Logger) {
        self.config = config
        self.store = store
        self.logger = logger
    }

    /// Syncs the requested directories (all when none are named).
    /// `onStart` is called with each run's id as the run begins (the daemon hands it out
    /// to callers that do not wait).
    public func run(
        _ request: SyncRequest, progress: (@Sendable (String, DirectoryReader.Progress) -> Void)? = nil,
        onStart: (@Sendable (String, Int64) -> Void)? = nil
    ) async throws(SyncError) -> [RunReport] {
        var selected = config.directories
        if !request.directories.isEmpty {
            for name in request.directories where config.directory(named: name) == nil {
                throw SyncError.unknownDirectory(name, known: config.directories.map(\.name))
            }
            selected = config.directories.filter { request.directories.contains($0.name) }
        }
        let lock: any StoreRunLock
        do {
            lock = try store.runLock(directories: selected.map(\.name))
        } catch {
            throw SyncError.locked(error.description)
        }
        defer { withExtendedLifetime(lock) {} }
        let configDigest: String
        do {
            try store.markInterruptedRuns(directories: selected.map(\.name))
            configDigest = try store.saveConfig(file: config.file, text: config.text)
        } catch {
            throw SyncError.store(error.description)
        }
        var reports: [RunReport] = []
        for directory in selected {
            let name = directory.name
            var directoryProgress: (@Sendable (DirectoryReader.Progress) -> Void)?
            if let progress {
                directoryProgress = { progress(name, $0) }
            }
            reports.append(try await run(
                directory, request: request, configDigest: configDigest, progress: directoryProgress, started: onStart))
        }
        return reports
    }

    private func run(
        _ directory: DirectoryConfig, request: SyncRequest, configDigest: String,
        progress: (@Sendable (DirectoryReader.Progress) -> Void)?, started onStart: (@Sendable (String, Int64) -> Void)?
    ) async throws(SyncError) -> RunReport {
        let started = Date()
        var run = RunRecord(
            directory: directory.name, trigger: request.trigger, mode: .full, outcome: .failed, startedAt: started, finishedAt: started,
            configDigest: configDigest)
        do {
            run = try store.beginRun(run)
        } catch {
            throw SyncError.store(error.description)
        }
        run.outcome = .failed
        if let id = run.id { onStart?(directory.name, id) }
        let clock = ContinuousClock()
        var phaseStart = clock.now
        func phaseDone(_ phase: String) {
            var usage = rusage()
            getrusage(RUSAGE_SELF.rawValue, &usage)
            logger.info("\(phase) took \(clock.now - phaseStart)", metadata: [
                "directory": "\(directory.name)", "peak_mib": "\(usage.ru_maxrss / 1024)",
            ])
            phaseStart = clock.now
        }
        var incremental: IncrementalRead?
        var fullReason: String?
        if !request.full {
            do {
                switch try await readIncrementally(directory) {
                case .incremental(let read):
                    incremental = read
                    phaseDone("reading changes")
                case .full(let reason):
                    fullReason = reason
                }
            } catch is CancellationError {
                run.finishedAt = Date()
                run.message = "cancelled while reading the directory (the daemon is shutting down); nothing was applied"
                return try record(run, changes: [])
            } catch let error as StoreError {
                throw SyncError.store(error.description)
            } catch {
                run.finishedAt = Date()
                run.message = "\(error)"
                return try record(run, changes: [])
            }
        }
        var wanted: Snapshot
        var current: Snapshot
        var syncState: SyncState?
        var plan: Plan
        var storeTotals: RunRecord.Totals?
        if var read = incremental {
            run.mode = .incremental
            do {
                plan = try planIncremental(&read, directory: directory.name)
                storeTotals = try store.totals(directory: directory.name)
            } catch {
                throw SyncError.store(error.description)
            }
            (wanted, current, syncState) = (read.wanted, read.current, read.state)
        } else {
            // What the store holds, without members: says which users and groups may be
            // skipped, and becomes the current snapshot once the members it needs are added.
            // Read while the directory answers the first search (it takes as long as the
            // store's part of a re-sync); the reader waits for it where it needs it.
            let totals: RunRecord.Totals
            do {
                totals = try store.totals(directory: directory.name)
            } catch {
                throw SyncError.store(error.description)
            }
            let headerTask = Task(executorPreference: Self.sideWorkExecutor) { [store, logger] () throws -> Snapshot in
                let started = ContinuousClock.now
                do {
                    let header = try store.header(directory: directory.name, usersByDigest: true, resolutionDigests: !request.full)
                    logger.debug("stored header read", metadata: ["took": "\(ContinuousClock.now - started)"])
                    return header
                } catch {
                    throw HeaderUnavailable(description: "\(error)")
                }
            }
            let skipsUnchanged = !request.full && totals.users + totals.groups > 0
            var usersAllUnchanged = false
            do {
                var reader = DirectoryReader(
                    directory: directory, logger: logger, expectedUsers: totals.users, expectedGroups: totals.groups)
                reader.capturesSyncState = directory.incremental.method != .off
                reader.stateStore = store
                let source: DirectoryReader.PriorSource? = skipsUnchanged ? { @Sendable in Store.PriorState(try await headerTask.value) } : nil
                let result = try await reader.read(priorSource: source, progress: progress)
                usersAllUnchanged = result.usersAllUnchanged
                wanted = result.snapshot
                syncState = result.syncState
                current = try await headerTask.value
                phaseDone("inquire")
            } catch let error as HeaderUnavailable {
                throw SyncError.store(error.description)
            } catch {
                // The store is not read behind a run that ends here.
                if case .failure(let error as HeaderUnavailable) = await headerTask.result { throw SyncError.store(error.description) }
                run.finishedAt = Date()
                run.message = error is CancellationError
                    ? "cancelled while reading the directory (the daemon is shutting down); nothing was applied" : "\(error)"
                return try record(run, changes: [])
            }
            let prior = skipsUnchanged ? Store.PriorState(current) : nil
            if let prior, !wanted.unloadedGroups.isEmpty {
                do {
                    try loadForEffectiveMembership(&wanted, prior: prior, directory: directory.name)
                } catch {
                    throw SyncError.store(error.description)
                }
            }
            do {
                // No stored user differs when all were read as unchanged headers: nothing to
                // load, and no 100,000 lookups to find that out.
                if !usersAllUnchanged { try store.loadUsers(&current, directory: directory.name, differingFrom: wanted) }
                try store.completeMembers(&current, directory: directory.name, reusingMembersOf: wanted)
                phaseDone("reading the stored snapshot")
                // Unchanged groups keep their unresolved member values too.
                for group in wanted.unloadedGroups { wanted.unresolved[group] = current.unresolved[group] }
            } catch {
                throw SyncError.store(error.description)
            }
            if wanted.partialUsers {
                // Users read as headers are named from the store where the report lists them
                // (on copies: the compared snapshots keep what was read).
                plan = Planner.plan(wanted: wanted, current: current, describeLimit: 0, movedMarkers: !request.full)
                var (named, namedCurrent) = (wanted, current)
                do {
                    try nameUsers(of: plan, wanted: &named, current: &namedCurrent, directory: directory.name)
                } catch {
                    throw SyncError.store(error.description)
                }
                Planner.describe(&plan, wanted: named, current: namedCurrent)
            } else {
                // `--full` does not read the stored markers (it saves memory): only the users
                // written get theirs; one whose marker moved alone is read whole next time.
                plan = Planner.plan(wanted: wanted, current: current, movedMarkers: !request.full)
            }
        }
        let compared = ComparedSnapshots(wanted: wanted, current: current)
        func done(_ report: RunReport) -> RunReport {
            var report = report
            report.compared = compared
            return report
        }
        phaseDone("planning")
        run.counts = plan.counts
        run.changesTotal = plan.changeCount
        if let storeTotals {
            // An incremental run: the totals stay the store's until the apply counts them again.
            run.totals = storeTotals
        } else {
            run.totals = RunRecord.Totals(
                users: wanted.userCount, groups: wanted.groups.count, memberships: wanted.membershipCount,
                unresolvedMembers: wanted.unresolved.values.reduce(0) { $0 + $1.count })
        }
        run.finishedAt = Date()

        // Why a real run would stop; a dry run reports it and stops anyway by writing nothing.
        var stopReason: String?
        let violations = storeTotals.map {
            directory.limits.violations(of: plan, users: $0.users, groups: $0.groups, memberships: $0.memberships)
        } ?? directory.limits.violations(of: plan, current: current)
        if storeTotals == nil && wanted.userCount == 0 && current.userCount > 0 {
            stopReason = "the user search under \(directory.users.base) with \(directory.users.filter) returned no users, "
                + "but the store holds \(current.userCount); nothing was applied. Check users.base and users.filter, "
                + "and that the bind account can still read the users. (This stop cannot be forced.)"
        } else if storeTotals == nil && wanted.groups.isEmpty && !current.groups.isEmpty && !request.force {
            stopReason = "the group search under \(directory.groups.base) with \(directory.groups.filter) returned no groups, "
                + "but the store holds \(current.groups.count); nothing was applied. Check groups.base and groups.filter, "
                + "and that the bind account can still read the groups. If the directory really has no groups now, run again with --force."
        } else if !violations.isEmpty && !request.force {
            let causes = LikelyCauses.of(
                plan, wanted: wanted, currentMemberships: storeTotals?.memberships ?? current.membershipCount, partial: storeTotals != nil,
                directory: directory)
            stopReason = "stopped by safety limits: " + violations.joined(separator: "; ")
                + (causes.isEmpty ? "" : ". Likely cause: " + causes.joined(separator: "; "))
                + ". Nothing was applied. If these removals are intended, run again with --force."
        }
        if let fullReason, incremental == nil {
            // Why this run read everything, for `runs show` (a message of its own goes first).
            run.message = "full run: \(fullReason)"
        } else if let note = incremental?.note {
            run.message = note
        }
        if request.dryRun {
            run.outcome = .dryRun
            run.message = plan.isEmpty ? "dry run: nothing to change" : "dry run: nothing was applied"
            if let stopReason { run.message! += "; a real run would stop: " + stopReason }
            return done(try record(run, plan: plan))
        }
        if let stopReason {
            run.outcome = .stoppedByLimit
            run.message = stopReason
            return done(try record(run, plan: plan))
        }
        if plan.isEmpty {
            run.outcome = .noChanges
            // The store equals the directory: remember markers that moved (an attribute
            // other than the members changed) so those groups are skipped next time.
            return done(try record(run, plan: plan, markers: plan.groupMarkers, userMarkers: plan.movedUserMarkers, syncState: syncState))
        }
        if Task.isCancelled {
            run.message = "cancelled before apply (the daemon is shutting down); nothing was applied"
            return done(try record(run, changes: []))
        }
        run.outcome = .applied
        if !violations.isEmpty { run.message = "applied with --force past: " + violations.joined(separator: "; ") }
        logger.info("applying the plan", metadata: ["directory": "\(directory.name)", "changes": "\(plan.changeCount)"])
        do {
            let applied = try store.apply(plan, run: run, syncState: syncState)
            phaseDone("applying")
            logger.info("applied", metadata: ["directory": "\(directory.name)", "run": "\(applied.id ?? 0)"])
            return done(RunReport(run: applied, plan: plan))
        } catch {
            run.outcome = .failed
            run.message = "applying the plan failed and nothing was written: \(error)"
            return done(try record(run, changes: []))
        }
    }

    private func record(
        _ run: RunRecord, plan: Plan, markers: [String: String] = [:], userMarkers: [String: UInt64] = [:], syncState: SyncState? = nil
    ) throws(SyncError) -> RunReport {
        var report = try record(run, changes: plan.changes, markers: markers, userMarkers: userMarkers, syncState: syncState)
        report.plan = plan
        return report
    }

    private func record(
        _ run: RunRecord, changes: [PlannedChange], markers: [String: String] = [:], userMarkers: [String: UInt64] = [:],
        syncState: SyncState? = nil
    ) throws(SyncError) -> RunReport {
        do {
            let recorded = try store.record(run, changes: changes, markers: markers, userMarkers: userMarkers, syncState: syncState)
            if run.outcome == .failed {
                logger.error("run failed", metadata: ["directory": "\(run.directory)", "error": "\(run.message ?? "")"])
            }
            return RunReport(run: recorded, plan: nil)
        } catch {
            throw SyncError.store(error.description)
        }
    }
}

/// Why a sync could not run at all (as opposed to a run that failed and was recorded).
public enum SyncError: Error, Sendable, CustomStringConvertible {
    case locked(String)
    case unknownDirectory(String, known: [String])
    case store(String)
    /// Another daemon sharing the (PostgreSQL) store runs this directory's syncs.
    case elsewhere(String)

    public var description: String {
        switch self {
        case .locked(let message): message
        case .unknownDirectory(let name, let known):
            "no directory named \"\(name)\" in the configuration; known: \(known.joined(separator: ", "))"
        case .store(let message): message
        case .elsewhere(let message): message
        }
    }
}
