import CScheduling
import Foundation
import SyncStore

/// A thread of its own for sync runs. A run is long stretches of CPU work (building the
/// snapshot, planning, the SQLite apply); on Swift's cooperative pool — as many threads as
/// cores, two here — it would hold a thread the API's handlers need, and a verification
/// would wait behind it. On this thread the kernel's scheduler shares the cores instead.
///
/// Scheduled, API and command-line runs (often full: seconds of work) run here at nice 10
/// and let answers go first; threads a run starts (its LDAP connection's) inherit the
/// priority. Watch-mode batches do not come here (see ``RunCoordinator``).
///
/// Nice decides how much of the cores a run gets, not how long it keeps one: once picked,
/// a thread keeps the core for its scheduler slice (1.4 ms by default on this machine's
/// kernel) while an event loop whose requests just arrived waits. So the run thread also
/// asks for 0.1 ms slices (Linux 6.12 and later take `sched_setattr`'s runtime as the
/// slice; its LDAP thread inherits it): measured on the benchmark's 100,000-user store,
/// the API's p99 during a full sync fell by about 1 ms, the run's share of the cores
/// unchanged. Older kernels keep their own slices.
final class RunExecutor: TaskExecutor, @unchecked Sendable {
    static let background = RunExecutor(threadName: "groupsync-runs", niceness: 10, slice: .microseconds(100))
    /// The daemons' coordination on a PostgreSQL store (lease renewals, handed-over syncs):
    /// short blocking calls that must not wait behind a run, so a thread of their own at
    /// normal priority.
    static let coordination = RunExecutor(threadName: "groupsync-leases", niceness: 0, slice: nil)

    /// Where a run with this trigger executes: watch-mode batches (small, waited for) on
    /// Swift's pool (nil), every other run and its follow-up work on ``background``.
    static func forRun(_ trigger: RunRecord.Trigger) -> RunExecutor? {
        trigger == .watch ? nil : background
    }

    /// The thread's name (ps, /proc), its nice value and the scheduler slice it asks for.
    let threadName: String
    let niceness: Int32
    let slice: Duration?

    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []

    private init(threadName: String, niceness: Int32, slice: Duration?) {
        self.threadName = threadName
        self.niceness = niceness
        self.slice = slice
        Thread { [unowned self] in self.serve() }.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func serve() {
        // Named for ps and /proc (a new thread would otherwise carry its creator's name).
        // Written to the kernel directly: Foundation's Thread.current.name did not always
        // reach it (a parallel test run once saw the thread under its creator's name).
        try? threadName.write(toFile: "/proc/thread-self/comm", atomically: false, encoding: .utf8)
        // On Linux this sets the calling thread's priority only (threads are tasks).
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
        if let slice {
            let (seconds, attoseconds) = slice.components
            _ = groupsync_set_thread_slice(UInt64(seconds) * 1_000_000_000 + UInt64(attoseconds / 1_000_000_000))
        }
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
