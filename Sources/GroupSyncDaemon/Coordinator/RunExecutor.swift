import Foundation

/// A thread of its own for sync runs. A run is long stretches of CPU work (building the
/// snapshot, planning, the SQLite apply); on Swift's cooperative pool — as many threads as
/// cores, two here — it would hold a thread the API's handlers need, and a verification
/// would wait behind it. On this thread the kernel's scheduler shares the cores instead.
///
/// Scheduled, API and command-line runs (often full: seconds of work) run here at nice 10
/// and let answers go first; threads a run starts (its LDAP connection's) inherit the
/// priority. Watch-mode batches do not come here (see ``RunCoordinator``).
final class RunExecutor: TaskExecutor, @unchecked Sendable {
    static let background = RunExecutor(threadName: "groupsync-runs", niceness: 10)
    /// The daemons' coordination on a PostgreSQL store (lease renewals, handed-over syncs):
    /// short blocking calls that must not wait behind a run, so a thread of their own at
    /// normal priority.
    static let coordination = RunExecutor(threadName: "groupsync-leases", niceness: 0)

    /// The thread's name (ps, /proc) and its nice value.
    let threadName: String
    let niceness: Int32

    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []

    private init(threadName: String, niceness: Int32) {
        self.threadName = threadName
        self.niceness = niceness
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
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
