import Foundation
import Prometheus
import SyncStore

/// The daemon's Prometheus metrics, on a registry of its own (no global bootstrap, so
/// several daemons can live in one test process). `/metrics` emits it.
public final class DaemonMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()

    public init() {}

    /// `groupsync_<name>_<unit>`, with its help text.
    private func name(_ name: String, _ unit: String = "", _ help: String) -> MetricNameDescriptor {
        descriptor(name, unit, help)
    }

    private func name(_ name: String, help: String) -> MetricNameDescriptor { descriptor(name, "", help) }

    private func descriptor(_ name: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "groupsync", metricName: name, unitName: unit, helpText: help)
    }

    /// Counts a finished run and updates the gauges of its directory.
    public func record(_ run: RunRecord) {
        let directory = ("directory", run.directory)
        registry.makeCounter(
            descriptor: name("runs", "total", "Sync runs by directory, outcome and mode (full or incremental)"),
            labels: [directory, ("mode", run.mode.rawValue), ("outcome", run.outcome.rawValue)])
            .increment()
        registry.makeDurationHistogram(
            descriptor: name("run_duration", "seconds", "Wall time of sync runs"), labels: [directory],
            buckets: [.milliseconds(100), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(300)]
        ).recordNanoseconds(Int64(max(0, run.finishedAt.timeIntervalSince(run.startedAt)) * 1e9))
        if run.outcome == .applied {
            registry.makeCounter(descriptor: name("changes_applied", "total", "Changes applied to the store"), labels: [directory])
                .increment(by: Int64(run.changesTotal))
        }
        if [.applied, .noChanges].contains(run.outcome) {
            registry.makeGauge(descriptor: name("users", help: "Users in the snapshot"), labels: [directory]).set(Double(run.totals.users))
            registry.makeGauge(descriptor: name("groups", help: "Groups in the snapshot"), labels: [directory]).set(Double(run.totals.groups))
            registry.makeGauge(descriptor: name("memberships", help: "Direct memberships in the snapshot"), labels: [directory])
                .set(Double(run.totals.memberships))
            registry.makeGauge(
                descriptor: name("last_success_timestamp", "seconds", "When the last successful run finished (Unix time)"), labels: [directory]
            ).set(run.finishedAt.timeIntervalSince1970)
        }
        if run.outcome == .failed { directoryError(run.directory) }
    }

    /// Counts a run that failed on the directory or could not run at all.
    public func directoryError(_ directory: String) {
        registry.makeCounter(descriptor: name("directory_errors", "total", "Runs that failed"), labels: [("directory", directory)]).increment()
    }

    /// `GET /v1/verify` answers by where they were made: `event_loop` (from the in-memory
    /// index, on the thread that read the request) or `router` (everything else).
    public func verifyAnswers(_ path: String) -> Counter {
        registry.makeCounter(
            descriptor: name("api_verify_answers", "total", "GET /v1/verify answers by where they were made (event_loop or router)"),
            labels: [("path", path)])
    }

    /// Counts an update of the in-memory verification index: `patch` (a run's plan written
    /// into it) or `rebuild` (read again from the store: a second or two of CPU on a large
    /// directory).
    public func indexUpdated(_ kind: String) {
        registry.makeCounter(
            descriptor: name("index_updates", "total", "In-memory verification index updates: patch (a run written into it) or rebuild (read from the store)"),
            labels: [("kind", kind)]
        ).increment()
    }

    /// Counts a trim of the heap (``HeapTrim``) by what it followed (`full-run`,
    /// `index-rebuild`) and adds up the memory it handed back to the kernel.
    public func heapTrimmed(after: String, released: Int) {
        registry.makeCounter(
            descriptor: name("heap_trims", "total", "Heap trims (freed memory handed back to the kernel) by what they followed: full-run or index-rebuild"),
            labels: [("after", after)]
        ).increment()
        registry.makeCounter(descriptor: name("heap_released", "bytes_total", "Resident memory the heap trims handed back to the kernel"))
            .increment(by: Int64(released))
    }

    /// The exposition, with the process's resident memory read as it is emitted (the
    /// standard `process_resident_memory_bytes`).
    public func text() -> String {
        registry.makeGauge(name: "process_resident_memory_bytes", help: "Resident memory size in bytes.")
            .set(Double(HeapTrim.residentBytes()))
        return registry.emitToString()
    }
}
