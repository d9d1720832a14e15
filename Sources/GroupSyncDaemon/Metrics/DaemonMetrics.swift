import Foundation
import Prometheus
import SyncStore

/// The daemon's Prometheus metrics, on a registry of its own (no global bootstrap, so
/// several daemons can live in one test process). `/metrics` emits it.
public final class DaemonMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()

    public init() {}

    /// Counts a finished run and updates the gauges of its directory.
    public func record(_ run: RunRecord) {
        let directory = ("directory", run.directory)
        registry.makeCounter(name: "groupsync_runs_total", labels: [directory, ("outcome", run.outcome.rawValue)], help: "Sync runs by directory and outcome")
            .increment()
        registry.makeDurationHistogram(
            name: "groupsync_run_duration_seconds", labels: [directory],
            buckets: [.milliseconds(100), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(300)],
            help: "Wall time of sync runs"
        ).recordNanoseconds(Int64(max(0, run.finishedAt.timeIntervalSince(run.startedAt)) * 1e9))
        if run.outcome == .applied {
            registry.makeCounter(name: "groupsync_changes_applied_total", labels: [directory], help: "Changes applied to the store")
                .increment(by: Int64(run.changesTotal))
        }
        if [.applied, .noChanges].contains(run.outcome) {
            registry.makeGauge(name: "groupsync_users", labels: [directory], help: "Users in the snapshot").set(Double(run.totals.users))
            registry.makeGauge(name: "groupsync_groups", labels: [directory], help: "Groups in the snapshot").set(Double(run.totals.groups))
            registry.makeGauge(name: "groupsync_memberships", labels: [directory], help: "Direct memberships in the snapshot")
                .set(Double(run.totals.memberships))
            registry.makeGauge(name: "groupsync_last_success_timestamp_seconds", labels: [directory], help: "When the last successful run finished (Unix time)")
                .set(run.finishedAt.timeIntervalSince1970)
        }
        if run.outcome == .failed { directoryError(run.directory) }
    }

    /// Counts a run that failed on the directory or could not run at all.
    public func directoryError(_ directory: String) {
        registry.makeCounter(name: "groupsync_directory_errors_total", labels: [("directory", directory)], help: "Runs that failed")
            .increment()
    }

    public func text() -> String { registry.emitToString() }
}
