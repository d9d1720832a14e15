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
    static let background = RunExecutor()
    /// The thread's name (ps, /proc) and its nice value.
    static let threadName = "groupsync-runs"
    static let niceness: Int32 = 10

    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []

    private init() {
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
        try? Self.threadName.write(toFile: "/proc/thread-self/comm", atomically: false, encoding: .utf8)
        // On Linux this sets the calling thread's priority only (threads are tasks).
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, Self.niceness)
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
