import Foundation
import Logging

/// Gives the heap memory a large run freed back to the kernel.
///
/// glibc hands freed memory back on its own only from the top of a heap. A full run or an
/// index read from the store frees a few hundred thousand blocks (the wanted and stored
/// snapshots, their dictionaries and sets) scattered between blocks that stay in use, so
/// without this the daemon's resident memory stays near the run's peak until it exits:
/// about 290 MiB after a full run of the benchmark's directory, against 180 MiB for the
/// index alone. `malloc_trim(0)` releases every whole free page in every arena to the
/// kernel (the addresses stay mapped; a later allocation there takes a fresh page).
public enum HeapTrim {
    /// What one trim did: resident memory before and after, and how long it took.
    public struct Result: Sendable {
        public let residentBefore: Int
        public let residentAfter: Int
        public let duration: Duration

        public var released: Int { max(0, residentBefore - residentAfter) }
    }

    /// Trims every arena now. Takes each arena's lock in turn, so threads allocating
    /// meanwhile wait for it: milliseconds on a daemon holding a large directory.
    @discardableResult
    public static func trim() -> Result {
        let clock = ContinuousClock()
        let started = clock.now
        let before = residentBytes()
        _ = glibcMallocTrim(0)
        return Result(residentBefore: before, residentAfter: residentBytes(), duration: clock.now - started)
    }

    /// What a trim follows, as logged and counted (`groupsync_heap_trims_total{after}`).
    public enum Occasion: String, Sendable {
        case fullRun = "full-run"
        case indexRebuild = "index-rebuild"
    }

    /// Trims after a full run or an index read from the store, logs what it released and
    /// counts it in `metrics`.
    static func trim(after occasion: Occasion, logger: Logger, metrics: DaemonMetrics?) {
        let result = trim()
        metrics?.heapTrimmed(after: occasion.rawValue, released: result.released)
        logger.debug("heap trimmed", metadata: [
            "after": "\(occasion.rawValue)", "released_mib": "\(result.released >> 20)",
            "resident_mib": "\(result.residentAfter >> 20)", "took": "\(result.duration)",
        ])
    }

    /// The process's resident memory in bytes (`/proc/self/statm`), 0 where it cannot be read.
    public static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
        let fields = text.split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

/// glibc's `malloc_trim` (malloc.h is not part of the Glibc module Swift imports).
@_silgen_name("malloc_trim")
private func glibcMallocTrim(_ pad: Int) -> Int32
