import Foundation
import GroupSync
import LDAPTestSupport
import Logging
import SyncConfig
import SyncStore

/// What the daemon does with its in-memory index after a run that changed memberships: the
/// run's plan written into the index in force (``SnapshotIndex/applying(_:directory:)``)
/// against reading a new one from the store, after the same run, in-process.
struct IndexPatch {
    let configPath: String

    struct Figures {
        var memberships: Int
        var patchMilliseconds: Double
        var rebuildSeconds: Double
    }

    /// Reads the index, makes `changes` (LDIF) in `directory`, syncs in-process, then times
    /// both ways of bringing the index up to date.
    func run(changes: String, directory: TestDirectory) async throws -> Figures {
        let config = try ConfigLoader.load(path: configPath)
        let store = try config.store.open()
        var logger = Logger(label: "benchmark")
        logger.logLevel = .warning
        let before = try store.loadIndex()
        try directory.modify(changes)
        guard let report = try await SyncRunner(config: config, store: store, logger: logger).run(SyncRequest()).first, let plan = report.plan,
              report.run.outcome == .applied
        else { throw BenchmarkFailure("the run after the changes applied nothing") }
        var started = ContinuousClock.now
        guard before.applying(plan, directory: report.run.directory) != nil else {
            throw BenchmarkFailure("the run's plan could not be written into the index")
        }
        let patch = ContinuousClock.now - started
        started = ContinuousClock.now
        _ = try store.loadIndex()
        let rebuild = ContinuousClock.now - started
        return Figures(
            memberships: plan.membershipsAdded.count + plan.membershipsRemoved.count,
            patchMilliseconds: seconds(patch) * 1000, rebuildSeconds: seconds(rebuild))
    }
}

struct BenchmarkFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
