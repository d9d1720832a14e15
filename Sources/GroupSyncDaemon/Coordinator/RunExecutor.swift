import Foundation

/// A thread of its own for sync runs. A run is long stretches of CPU work (building the
/// snapshot, planning, the SQLite apply); on Swift's cooperative pool — as many threads as
/// cores, two here — it would hold a thread the API's handlers need, and a verification
/// would wait behind it. On this thread, at a lower priority, the kernel's scheduler
/// shares the cores instead and lets answers go first.
final class RunExecutor: TaskExecutor, @unchecked Sendable {
    static let shared = RunExecutor()

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

    /// The thread's nice value: a run yields the cores to the API's threads when both want
    /// them (a run takes seconds either way; an answer should take milliseconds).
    static let niceness: Int32 = 10

    private func serve() {
        // Named for ps and /proc (a new thread would otherwise carry its creator's name).
        Thread.current.name = "groupsync-runs"
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
