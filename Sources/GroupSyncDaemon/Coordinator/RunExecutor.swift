import Foundation

/// A thread of its own for sync runs. A run is long stretches of CPU work (building the
/// snapshot, planning, the SQLite apply); on Swift's cooperative pool — as many threads as
/// cores, two here — it would hold a thread the API's handlers need, and a verification
/// would wait behind it. On this thread the kernel's scheduler shares the cores instead.
final class RunExecutor: TaskExecutor, @unchecked Sendable {
    static let shared = RunExecutor()

    private let condition = NSCondition()
    private var jobs: [UnownedJob] = []

    private init() {
        let thread = Thread { [unowned self] in self.serve() }
        thread.name = "groupsync-runs"
        thread.start()
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        condition.lock()
        jobs.append(job)
        condition.signal()
        condition.unlock()
    }

    private func serve() {
        while true {
            condition.lock()
            while jobs.isEmpty { condition.wait() }
            let job = jobs.removeFirst()
            condition.unlock()
            job.runSynchronously(on: asUnownedTaskExecutor())
        }
    }
}
